#include "base/size.hpp"

#include <doctest/doctest.h>

using ferry::format_size;
using ferry::parse_size;
using ferry::unlimited_bytes;

TEST_CASE("parse_size accepts plain bytes and binary units") {
    CHECK(parse_size("0") == 0u);
    CHECK(parse_size("123") == 123u);
    CHECK(parse_size("10K") == 10u * 1024);
    CHECK(parse_size("10k") == 10u * 1024);
    CHECK(parse_size("10KB") == 10u * 1024);
    CHECK(parse_size("10KiB") == 10u * 1024);
    CHECK(parse_size("500M") == 500ull << 20);
    CHECK(parse_size("2T") == 2ull << 40);
    CHECK(parse_size("7B") == 7u);
    CHECK(parse_size(" 3 G ") == 3ull << 30);
}

TEST_CASE("parse_size rounds fractions down to whole bytes") {
    CHECK(parse_size("0.1G") == 107374182u);
    CHECK(parse_size("1.5K") == 1536u);
    CHECK(parse_size("1.5") == 1u);
    CHECK(parse_size("100.0 MiB") == 100ull << 20);
}

TEST_CASE("parse_size knows unlimited") {
    CHECK(parse_size("unlimited") == unlimited_bytes);
    CHECK(parse_size("UNLIMITED") == unlimited_bytes);
}

TEST_CASE("parse_size rejects malformed, negative and overflowing sizes") {
    for (const char* bad : {"", " ", "-1", "1.2.3", "10Q", "K", ".5", "1.", "1.K", "10KK", "10Kb2", "1e3", "0x10",
                            "16777216T", "18446744073709551616", "99999999999999999999999"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_size(bad).has_value());
    }
}

TEST_CASE("format_size picks a readable unit") {
    CHECK(format_size(0) == "0 B");
    CHECK(format_size(512) == "512 B");
    CHECK(format_size(1536) == "1.5 KiB");
    CHECK(format_size(100ull << 20) == "100.0 MiB");
    CHECK(format_size(3ull << 40) == "3.0 TiB");
    CHECK(format_size(1048575) == "1.0 MiB");
    CHECK(format_size(unlimited_bytes) == "unlimited");
}

TEST_CASE("format_size output parses back to about the same size") {
    for (std::uint64_t bytes : {0ull, 1000ull, 1ull << 20, 5ull << 30}) {
        auto parsed = parse_size(format_size(bytes));
        REQUIRE(parsed.has_value());
        CHECK(*parsed == bytes);
    }
}

TEST_CASE("format_millis and format_rate never print an exponent") {
    using ferry::format_millis;
    using ferry::format_rate;
    CHECK(format_millis(5.4732e-05) == "0.055 ms");
    CHECK(format_millis(0.00547) == "5.47 ms");
    CHECK(format_millis(0.0547) == "54.7 ms");
    CHECK(format_millis(0.547) == "547 ms");
    CHECK(format_millis(12.0341) == "12034 ms");
    CHECK(format_millis(0) == "0.000 ms");
    CHECK(format_rate(1, 0.001) == "1 kB/s");
    CHECK(format_rate(340, 1) == "340 B/s");
    CHECK(format_rate(12400, 1) == "12.4 kB/s");
    CHECK(format_rate(2549000000ull, 1) == "2.55 GB/s");
    CHECK(format_rate(100000000, 1) == "100 MB/s");
    CHECK(format_rate(5, 0) == "-");
}
