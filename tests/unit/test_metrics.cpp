// The metrics' histogram and the exposition text.
#include "app/metrics_text.hpp"
#include "base/metrics.hpp"

#include <doctest/doctest.h>

using namespace ferry;

TEST_CASE("histogram buckets are cumulative and the sum is in seconds") {
    metrics::Histogram histogram;
    histogram.observe(std::chrono::microseconds(30));   // <= 50 us
    histogram.observe(std::chrono::microseconds(700));  // <= 1 ms
    histogram.observe(std::chrono::seconds(20));        // above every bound
    const auto snap = histogram.snapshot();
    CHECK(snap.cumulative[0] == 1);
    CHECK(snap.cumulative[3] == 1);  // <= 500 us
    CHECK(snap.cumulative[4] == 2);  // <= 1 ms
    CHECK(snap.cumulative.back() == 2);
    CHECK(snap.count == 3);
    CHECK(snap.sum_seconds == doctest::Approx(20.00073));
}

TEST_CASE("the exposition text: label values escaped, quota series bounded by what was given") {
    CHECK(app::label_value("plain") == "plain");
    CHECK(app::label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    app::ScrapeInputs inputs;
    inputs.accounts = {{"al\"ice", 1000, 5000}};
    inputs.io_pool_queued = 3;
    const std::string text = app::metrics_text(inputs);
    CHECK(text.find("ferry_account_quota_used_bytes{account=\"al\\\"ice\"} 1000\n") != std::string::npos);
    CHECK(text.find("ferry_account_quota_limit_bytes{account=\"al\\\"ice\"} 5000\n") != std::string::npos);
    CHECK(text.find("ferry_pool_queued_jobs{pool=\"io\"} 3\n") != std::string::npos);
    CHECK(text.find("ferry_reactor_turn_seconds_bucket{le=\"+Inf\"}") != std::string::npos);
    CHECK(text.find("# TYPE ferry_logins_total counter\n") != std::string::npos);
    CHECK(text.find("process_") == std::string::npos);  // no process figures given
}
