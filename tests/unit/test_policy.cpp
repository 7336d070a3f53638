// The access policy model alone: permission words, rule paths, inheritance, group order, limits,
// networks, dates.
#include "auth/policy.hpp"

#include <doctest/doctest.h>

using namespace ferry::auth;

namespace {

Permissions perms(std::string_view text) { return *Permissions::parse(text); }

Group group(std::string name, Settings settings) { return Group{std::move(name), std::move(settings)}; }

}  // namespace

TEST_CASE("permission words parse, print and refuse what they do not know") {
    CHECK(perms("list,download,hash").text() == "list,download,hash");
    CHECK(perms("hash, list ,download").text() == "list,download,hash");  // the enum's order
    CHECK(perms("all").text() == "all");
    CHECK(perms("none").text() == "none");
    CHECK(perms("none").empty());
    CHECK(perms("delete").has(Permission::remove));
    CHECK(perms("list,download,upload,overwrite,delete,rename,mkdir,rmdir,chmod,hash") == Permissions::all());
    std::string bad;
    CHECK_FALSE(Permissions::parse("list,write", &bad));
    CHECK(bad == "write");
    CHECK_FALSE(Permissions::parse("", &bad));
    CHECK_FALSE(Permissions::parse("list,,download", &bad));
    CHECK_FALSE(Permissions::parse("LIST", &bad));
}

TEST_CASE("rule paths are absolute and normalised") {
    std::string why;
    CHECK(rule_path("/", &why) == "/");
    CHECK(rule_path("/archive/2026", &why) == "/archive/2026");
    CHECK_FALSE(rule_path("archive", &why));
    CHECK(why.find("absolute") != std::string::npos);
    CHECK_FALSE(rule_path("/a/../b", &why));
    CHECK_FALSE(rule_path("/a//b", &why));
    CHECK_FALSE(rule_path("/a/./b", &why));
    CHECK_FALSE(rule_path("/a/", &why));
    CHECK_FALSE(rule_path(std::string_view("/a\0b", 4), &why));
}

TEST_CASE("paths cover themselves and what lies beneath, by component") {
    CHECK(path_covers("/", "/"));
    CHECK(path_covers("/", "/a/b"));
    CHECK(path_covers("/a", "/a"));
    CHECK(path_covers("/a", "/a/b"));
    CHECK_FALSE(path_covers("/a", "/ab"));
    CHECK_FALSE(path_covers("/a/b", "/a"));
}

TEST_CASE("no rules: everything is allowed, as before policies existed") {
    const EffectivePolicy policy = resolve_policy("alice", Settings{}, {});
    CHECK(policy.unrestricted());
    CHECK(policy.allows(Permission::remove, "/x"));
    CHECK(policy.allows_any("/"));
    CHECK(policy.admits("203.0.113.9"));
}

TEST_CASE("the deepest rule covering a path decides, and deeper paths inherit it") {
    Settings own;
    own.permissions["/"] = Permissions::all();
    own.permissions["/archive"] = perms("list,download");
    own.permissions["/archive/inbox"] = perms("upload");
    const EffectivePolicy policy = resolve_policy("alice", own, {});
    CHECK(policy.allows(Permission::remove, "/notes.txt"));
    CHECK(policy.allows(Permission::download, "/archive"));
    CHECK(policy.allows(Permission::download, "/archive/2025/report.pdf"));
    CHECK_FALSE(policy.allows(Permission::upload, "/archive/new.txt"));
    CHECK_FALSE(policy.allows(Permission::rmdir, "/archive"));
    CHECK(policy.allows(Permission::upload, "/archive/inbox/x"));
    CHECK_FALSE(policy.allows(Permission::download, "/archive/inbox/x"));
    CHECK(policy.allows(Permission::upload, "/archived"));  // not beneath /archive
    REQUIRE(policy.rule_beneath("/") != nullptr);
    CHECK(policy.rule_beneath("/")->path == "/archive/inbox");  // the deepest
    CHECK(policy.rule_beneath("/archive")->path == "/archive/inbox");
    CHECK(policy.rule_beneath("/archive/inbox") == nullptr);
    CHECK(policy.rule_beneath("/other") == nullptr);
}

TEST_CASE("read-only and drop-box accounts") {
    Settings reader;
    reader.permissions["/"] = perms("list,download,hash");
    const EffectivePolicy read_only = resolve_policy("auditor", reader, {});
    CHECK(read_only.allows(Permission::download, "/a/b"));
    for (Permission p : {Permission::upload, Permission::overwrite, Permission::remove, Permission::rename,
                         Permission::mkdir, Permission::rmdir, Permission::chmod})
        CHECK_FALSE(read_only.allows(p, "/a/b"));

    Settings drop;
    drop.permissions["/"] = perms("upload,mkdir");
    const EffectivePolicy box = resolve_policy("dropbox", drop, {});
    CHECK(box.allows(Permission::upload, "/in/x"));
    CHECK(box.allows(Permission::mkdir, "/in"));
    CHECK(box.allows_any("/in"));
    for (Permission p : {Permission::list, Permission::download, Permission::hash, Permission::overwrite})
        CHECK_FALSE(box.allows(p, "/in/x"));

    Settings nothing;
    nothing.permissions["/secret"] = Permissions::none();
    CHECK_FALSE(resolve_policy("x", nothing, {}).allows_any("/secret/a"));
    CHECK(resolve_policy("x", nothing, {}).allows_any("/public"));
}

TEST_CASE("for the same path the account's rule wins, then its groups' in the order listed") {
    Settings own;
    own.permissions["/shared"] = perms("list");
    const Group staff = group("staff", Settings{.permissions = {{"/", perms("list,download")}, {"/shared", Permissions::all()}},
                                                .folders = {}, .limits = {}, .allow = {}, .deny = {}});
    const Group guests = group("guests", Settings{.permissions = {{"/", perms("list")}, {"/drop", perms("upload")}},
                                                  .folders = {}, .limits = {}, .allow = {}, .deny = {}});
    const EffectivePolicy policy = resolve_policy("bob", own, {&staff, &guests});
    CHECK_FALSE(policy.allows(Permission::download, "/shared/x"));  // own /shared beats staff's
    CHECK(policy.allows(Permission::download, "/elsewhere"));       // staff's / beats guests' /
    CHECK(policy.allows(Permission::upload, "/drop/x"));            // only guests say /drop
    CHECK_FALSE(policy.allows(Permission::download, "/drop/x"));
    // A deeper group rule beats a shallower rule of the account's own.
    Settings wide;
    wide.permissions["/"] = Permissions::all();
    const Group readers = group("readers", Settings{.permissions = {{"/archive", perms("list")}}, .folders = {}, .limits = {}, .allow = {}, .deny = {}});
    CHECK_FALSE(resolve_policy("carol", wide, {&readers}).allows(Permission::remove, "/archive/a"));
    // Each rule says where it came from.
    const EffectivePolicy listed = resolve_policy("bob", own, {&staff, &guests});
    bool saw_group = false;
    for (const auto& rule : listed.rules())
        if (rule.path == "/drop") saw_group = rule.from == "group guests";
    CHECK(saw_group);

    // Reversing the group order changes who wins for "/".
    const EffectivePolicy reversed = resolve_policy("bob", own, {&guests, &staff});
    CHECK_FALSE(reversed.allows(Permission::download, "/elsewhere"));
}

TEST_CASE("limits: the first to set one wins; 0 means none and still overrides the groups") {
    Settings own;
    own.limits.download_rate = 0;
    const Group slow = group("slow", Settings{.permissions = {}, .folders = {}, .limits = {.upload_rate = 100 * 1024, .download_rate = 200 * 1024, .transfers = 2},
                                              .allow = {}, .deny = {}});
    const Group fast = group("fast", Settings{.permissions = {}, .folders = {}, .limits = {.upload_rate = 10 << 20, .download_rate = {}, .transfers = 8},
                                              .allow = {}, .deny = {}});
    const EffectivePolicy policy = resolve_policy("dave", own, {&slow, &fast});
    CHECK(policy.limits().upload_rate == 100u * 1024);
    CHECK_FALSE(policy.limits().download_rate);  // own 0: no limit, though "slow" has one
    CHECK(policy.limits().transfers == 2u);
}

TEST_CASE("networks: deny wins over allow, denies add up, the first allow list wins") {
    Settings own;
    own.allow = parse_networks("10.0.0.0/8", nullptr);
    const Group office = group("office", Settings{.permissions = {}, .folders = {}, .limits = {}, .allow = parse_networks("192.0.2.0/24", nullptr),
                                                  .deny = *parse_networks("10.9.0.0/16", nullptr)});
    const EffectivePolicy policy = resolve_policy("erin", own, {&office});
    CHECK(policy.admits("10.1.2.3"));
    CHECK_FALSE(policy.admits("192.0.2.5"));  // own allow list wins over the group's
    CHECK_FALSE(policy.admits("10.9.1.1"));   // the group's deny still counts
    CHECK_FALSE(policy.admits("::1"));

    Settings deny_only;
    deny_only.deny = *parse_networks("127.0.0.2,::1", nullptr);
    const EffectivePolicy denied = resolve_policy("frank", deny_only, {});
    CHECK(denied.admits("127.0.0.1"));
    CHECK_FALSE(denied.admits("127.0.0.2"));
    CHECK_FALSE(denied.admits("::ffff:127.0.0.2"));
    CHECK_FALSE(denied.admits("::1"));

    std::string bad;
    CHECK_FALSE(parse_networks("10.0.0.0/8,10.0.0.0/33", &bad));
    CHECK(bad == "10.0.0.0/33");
    CHECK_FALSE(parse_networks("example.org", &bad));
    CHECK(parse_networks("", &bad)->empty());
    CHECK(networks_text(*parse_networks("10.0.0.0/8,::1", nullptr)) == "10.0.0.0/8,::1");
}

TEST_CASE("expiry dates are real calendar days, counted from 00:00 UTC") {
    CHECK(Date::parse("1970-01-01")->days == 0);
    CHECK(Date::parse("2026-12-07")->start_seconds() == 1796601600);
    CHECK(Date::parse("2028-02-29")->text() == "2028-02-29");
    CHECK(Date::parse("2000-02-29"));
    CHECK_FALSE(Date::parse("2027-02-29"));
    CHECK_FALSE(Date::parse("1900-02-29"));
    CHECK_FALSE(Date::parse("2027-13-01"));
    CHECK_FALSE(Date::parse("2027-04-31"));
    CHECK_FALSE(Date::parse("2027-1-01"));
    CHECK_FALSE(Date::parse("27-01-01"));
    CHECK_FALSE(Date::parse("2027-01-0x"));
    CHECK_FALSE(Date::parse("tomorrow"));
    CHECK(Date::parse("2027-12-31")->text() == "2027-12-31");
}

TEST_CASE("a folder grant mounts the folder and sets the rule at its mount point") {
    Settings own;
    own.permissions["/"] = perms("list,download");
    own.folders["team"] = FolderGrant{"/team", perms("all")};
    const EffectivePolicy policy = resolve_policy("alice", own, {});
    REQUIRE(policy.mounts().size() == 1);
    CHECK(policy.mount_of("/team")->folder == "team");
    CHECK(policy.mount_of("/team/a/b")->folder == "team");
    CHECK(policy.mount_of("/teams") == nullptr);
    CHECK(policy.mount_of("/") == nullptr);
    CHECK(policy.allows(Permission::upload, "/team/x"));
    CHECK_FALSE(policy.allows(Permission::upload, "/x"));
    // Renaming the folder holding a mount point would leave the mount behind: the rule beneath says so.
    CHECK(policy.rule_beneath("/") != nullptr);
    CHECK_FALSE(policy.unrestricted());
}

TEST_CASE("deeper rules refine a mounted folder; the own rule wins at the mount point") {
    Settings own;
    own.permissions["/team/archive"] = perms("list,download");
    Group staff = group("staff", {});
    staff.settings.folders["team"] = FolderGrant{"/team", perms("list,download,upload")};
    const EffectivePolicy policy = resolve_policy("bob", own, {&staff});
    CHECK(policy.mount_of("/team/archive/x")->from == "group staff");
    CHECK(policy.allows(Permission::upload, "/team/new"));
    CHECK_FALSE(policy.allows(Permission::upload, "/team/archive/new"));
    CHECK_FALSE(policy.allows(Permission::remove, "/team/new"));

    Settings said_first;
    said_first.permissions["/team"] = perms("list");
    const EffectivePolicy own_wins = resolve_policy("bob", said_first, {&staff});
    CHECK(own_wins.mount_of("/team") != nullptr);
    CHECK_FALSE(own_wins.allows(Permission::download, "/team/a"));
}

TEST_CASE("mounts never nest, the first grant of a folder wins, and unknown folders are left out") {
    Settings own;
    own.folders["team"] = FolderGrant{"/team", perms("all")};
    Group a = group("a", {});
    a.settings.folders["inner"] = FolderGrant{"/team/inner", perms("all")};  // inside the own mount
    a.settings.folders["outer"] = FolderGrant{"/", perms("all")};            // over it
    a.settings.folders["team"] = FolderGrant{"/elsewhere", perms("list")};   // the same folder again
    a.settings.folders["docs"] = FolderGrant{"/docs", perms("list")};
    const EffectivePolicy policy = resolve_policy("carol", own, {&a});
    REQUIRE(policy.mounts().size() == 2);
    CHECK(policy.mount_of("/team/inner/x")->folder == "team");
    CHECK(policy.mount_of("/elsewhere") == nullptr);
    CHECK(policy.mount_of("/docs")->folder == "docs");
    CHECK(policy.allows(Permission::upload, "/team/inner"));

    SharedFolders known{{"team", SharedFolder{"team", 1000}}};
    const EffectivePolicy only_known = resolve_policy("carol", own, {&a}, &known);
    CHECK(only_known.mounts().size() == 1);
    CHECK(only_known.mount_of("/docs") == nullptr);
    CHECK(mounts_nest("/a", "/a/b"));
    CHECK(mounts_nest("/a/b", "/a"));
    CHECK_FALSE(mounts_nest("/a", "/ab"));
}
