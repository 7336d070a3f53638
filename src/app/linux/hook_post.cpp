#include "app/hook_post.hpp"

#include <algorithm>
#include <curl/curl.h>
#include <thread>

namespace ferry::app {
namespace {

size_t ignore_body(char*, size_t size, size_t count, void*) { return size * count; }

PostOutcome post_once(const std::string& url, const std::string& json, std::chrono::seconds timeout) {
    PostOutcome outcome;
    CURL* curl = curl_easy_init();
    if (!curl) return outcome.error = "curl_easy_init failed", outcome;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ignore_body);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    const CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &outcome.status);
    else outcome.error = curl_easy_strerror(code);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return outcome;
}

}  // namespace

bool init_posting(std::string* error) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) return true;
    *error = "hooks: libcurl could not be set up";
    return false;
}

PostOutcome post_json(const std::string& url, const std::string& json, std::chrono::seconds timeout, unsigned retries) {
    auto wait = std::chrono::milliseconds(500);
    for (unsigned attempt = 1;; ++attempt) {
        PostOutcome outcome = post_once(url, json, timeout);
        outcome.attempts = attempt;
        const bool again = outcome.status == 0 || outcome.status >= 500;
        if (!again || attempt > retries) return outcome;
        std::this_thread::sleep_for(wait);
        wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(30));
    }
}

}  // namespace ferry::app
