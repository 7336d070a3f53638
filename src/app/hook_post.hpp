// POSTing an event's JSON to a URL hook (libcurl), with retries and backoff.
#pragma once
#include <chrono>
#include <string>

namespace ferry::app {

struct PostOutcome {
    long status = 0;    // the HTTP status; 0 when no answer came
    std::string error;  // why not, when status is 0
    unsigned attempts = 0;
};

// Once before any thread posts (libcurl's global set-up); false when libcurl is not available.
bool init_posting(std::string* error);
// POSTs `json` (application/json) to `url`, each attempt bounded by `timeout`; a 5xx or no answer
// is tried again up to `retries` times, waiting 0.5 s, 1 s, 2 s, ... (at most 30 s) in between.
PostOutcome post_json(const std::string& url, const std::string& json, std::chrono::seconds timeout, unsigned retries);

}  // namespace ferry::app
