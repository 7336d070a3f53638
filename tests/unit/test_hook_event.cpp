// What hooks are told: the event's JSON and its FERRY_* environment.
#include "proto/hook_event.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ferry::proto;

TEST_CASE("hook events: names both ways") {
    CHECK(std::string(hook_kind_name(HookKind::delete_file)) == "delete");
    CHECK(parse_hook_kind("login_failed") == HookKind::login_failed);
    CHECK(parse_hook_kind("pre_upload") == HookKind::pre_upload);
    CHECK_FALSE(parse_hook_kind("uplaod"));
    for (std::size_t i = 0; i < hook_kind_count; ++i)
        CHECK(parse_hook_kind(hook_kind_name(static_cast<HookKind>(i))) == static_cast<HookKind>(i));
}

TEST_CASE("hook events: JSON with the fields that are set, escaped; the same in the environment") {
    HookEvent event;
    event.kind = HookKind::upload;
    event.user = "alice";
    event.path = "/in/\"odd\"\nname.txt";
    event.client = "192.0.2.7";
    event.session = 12;
    event.bytes = 5;
    event.size = 10;
    event.offset = 5;
    event.complete = true;
    event.reply = 226;
    event.digests = {{"md5", "abc"}, {"sha-256", "def"}};
    const std::string json = hook_json(event, "node-1", 1796688000123);
    CHECK(json == "{\"event\":\"upload\",\"time\":\"2026-12-08T00:00:00.123Z\",\"node\":\"node-1\",\"session\":12,"
                  "\"user\":\"alice\",\"client\":\"192.0.2.7\",\"path\":\"/in/\\\"odd\\\"\\u000aname.txt\",\"bytes\":5,"
                  "\"size\":10,\"offset\":5,\"complete\":true,\"reply\":226,\"digests\":{\"md5\":\"abc\",\"sha-256\":\"def\"}}");
    const auto env = hook_environment(event, "node-1", 1796688000123);
    CHECK(std::find(env.begin(), env.end(), "FERRY_PATH=/in/\"odd\"\nname.txt") != env.end());
    CHECK(std::find(env.begin(), env.end(), "FERRY_COMPLETE=true") != env.end());
    CHECK(std::find(env.begin(), env.end(), "FERRY_DIGESTS={\"md5\":\"abc\",\"sha-256\":\"def\"}") != env.end());
    HookEvent login;
    login.kind = HookKind::login;
    login.user = "bob";
    CHECK(hook_json(login, "n", 0).find("digests") == std::string::npos);  // only uploads carry them
    CHECK(hook_json(login, "n", 0).find("\"path\"") == std::string::npos);
}
