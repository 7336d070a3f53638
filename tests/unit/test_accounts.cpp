#include "auth/accounts.hpp"
#include "auth/password.hpp"
#include "base/size.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace ferry;
using namespace ferry::auth;

namespace {

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> folder_entries(const std::string& folder) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) names.push_back(entry.path().filename().string());
    return names;
}

// A real argon2id hash (of "password-1"): the loader refuses anything else.
constexpr const char* kHash = "$argon2id$v=19$m=65536,t=2,p=1$ccFF6JguksYUSsUoeWU34w$sQRB6zJq0eTEjilmnenVRRj+s+FKBkDzSi9Vqr/Ixx8";

Account make_account(const std::string& name, std::uint64_t quota = 0) {
    Account account;
    account.name = name;
    account.password_hash = kHash;
    account.quota = quota;
    return account;
}

Status add_one(AccountsFile& file, const Account& account) { return file.add(account) ? Status{} : Status(Errc::exists); }

}  // namespace

TEST_CASE("valid_user_name") {
    const std::string longest(64, 'a');
    for (const char* good : {"alice", "Bob_2", "a", "x.y-z", "_svc", "abcdefghijklmnopqrstuvwxyz012345", longest.c_str(),
                             "console", "com10", "nully"}) {
        CAPTURE(good);
        CHECK(valid_user_name(good));
    }
    const std::string too_long(65, 'a');
    for (const char* bad : {"", ".hidden", "-dash", "a b", "a/b", "é", "root", "ftp", "anonymous", "daemon", "nobody",
                            ".", "..", too_long.c_str(), "Root", "FTP", ".deleted", "CON", "con", "nul", "NUL.txt",
                            "com1", "COM9", "lpt1", "Aux", "prn.x.y"}) {
        CAPTURE(bad);
        CHECK_FALSE(valid_user_name(bad));
    }
}

TEST_CASE("valid_home_path") {
    CHECK(valid_home_path("alice"));
    CHECK(valid_home_path("team/alice"));
    CHECK(valid_home_path("a..b"));
    CHECK_FALSE(valid_home_path(""));
    CHECK_FALSE(valid_home_path("/etc"));
    CHECK_FALSE(valid_home_path(".."));
    CHECK_FALSE(valid_home_path("a/../../b"));
    CHECK_FALSE(valid_home_path("a/.."));
}

TEST_CASE("homes_overlap compares by components") {
    CHECK(homes_overlap("team", "team/bob"));
    CHECK(homes_overlap("team/bob", "team"));
    CHECK(homes_overlap("alice", "alice"));
    CHECK(homes_overlap("alice/", "alice"));
    CHECK_FALSE(homes_overlap("team", "teams"));
    CHECK_FALSE(homes_overlap("team/bob", "team/bobby"));
    CHECK_FALSE(homes_overlap("a/b", "a/c"));
}

TEST_CASE("AccountsFile add, find and remove") {
    AccountsFile file;
    CHECK(file.add(make_account("alice")));
    CHECK_FALSE(file.add(make_account("alice")));
    CHECK_FALSE(file.add(make_account("root")));
    REQUIRE(file.find("alice") != nullptr);
    CHECK(file.find("alice")->home == "alice");  // home defaults to the name
    CHECK(file.find("bob") == nullptr);
    file.find_mutable("alice")->admin = true;
    CHECK(file.find("alice")->admin);
    CHECK(file.remove("alice"));
    CHECK_FALSE(file.remove("alice"));
    CHECK(file.all().empty());
}

TEST_CASE("a missing accounts file is empty") {
    const testing::TempDir dir("accounts");
    std::string error;
    auto loaded = AccountsFile::load(dir.file("none.toml"), &error);
    REQUIRE(loaded.ok());
    CHECK(loaded->all().empty());
}

TEST_CASE("accounts survive save and reload unchanged") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    std::string error;
    REQUIRE(modify_accounts_file(
                path,
                [](AccountsFile& file) {
                    Account alice = make_account("alice", 500ull << 20);
                    alice.admin = true;
                    alice.home = "team/alice \"q\"";
                    Account bob = make_account("b.o-b", unlimited_bytes);
                    bob.disabled = true;
                    Account huge = make_account("huge", unlimited_bytes - 1);  // beyond TOML's int64
                    for (const Account* account : {&alice, &bob, &huge})
                        if (const Status err = add_one(file, *account)) return err;
                    return Status{};
                },
                &error) == 0);
    auto loaded = AccountsFile::load(path, &error);
    REQUIRE_MESSAGE(loaded.ok(), error);
    REQUIRE(loaded->all().size() == 3);
    const Account* alice = loaded->find("alice");
    REQUIRE(alice);
    CHECK(alice->quota == 500ull << 20);
    CHECK(alice->admin);
    CHECK_FALSE(alice->disabled);
    CHECK(alice->home == "team/alice \"q\"");
    CHECK(alice->password_hash == make_account("x").password_hash);
    CHECK(loaded->find("b.o-b")->quota == unlimited_bytes);
    CHECK(loaded->find("b.o-b")->disabled);
    CHECK(loaded->find("huge")->quota == unlimited_bytes - 1);
    CHECK(loaded->to_toml() == AccountsFile::load(path, &error)->to_toml());
    CHECK(loaded->to_toml().find("[users.alice]") < loaded->to_toml().find("[users.huge]"));  // sorted
}

TEST_CASE("quota may be written as a size string") {
    const testing::TempDir dir("accounts");
    write_text(dir.file("u.toml"), std::string("[users.alice]\npassword = \"") + kHash + "\"\nquota = \"0.1G\"\n");
    std::string error;
    auto loaded = AccountsFile::load(dir.file("u.toml"), &error);
    REQUIRE_MESSAGE(loaded.ok(), error);
    CHECK(loaded->find("alice")->quota == 107374182u);
}

TEST_CASE("a malformed accounts file's error names the file and line") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("bad.toml");
    write_text(path, "[users.alice]\npassword = \"x\"\nhome = \n");
    std::string error;
    auto loaded = AccountsFile::load(path, &error);
    CHECK_FALSE(loaded.ok());
    CHECK(loaded.error() == EINVAL);
    CHECK(error.find(path + ":3") != std::string::npos);
}

TEST_CASE("a wrong-typed field's error names users.<name>.<field>") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("bad.toml");
    const std::pair<const char*, const char*> cases[] = {
        {"[users.alice]\nquota = true\n", "users.alice.quota"},
        {"[users.alice]\nquota = \"lots\"\n", "users.alice.quota"},
        {"[users.alice]\nquota = -5\n", "users.alice.quota"},
        {"[users.alice]\nadmin = \"yes\"\n", "users.alice.admin"},
        {"[users.alice]\ndisabled = 1\n", "users.alice.disabled"},
        {"[users.alice]\npassword = 42\n", "users.alice.password"},
        {"[users.alice]\nhome = \"../etc\"\n", "users.alice.home"},
        {"[users.alice]\nshell = \"/bin/sh\"\n", "users.alice.shell"},
        {"[users.root]\npassword = \"\"\n", "users.root"},
    };
    for (const auto& [text, key] : cases) {
        CAPTURE(text);
        write_text(path, text);
        std::string error;
        CHECK_FALSE(AccountsFile::load(path, &error).ok());
        CHECK(error.find(key) != std::string::npos);
    }
}

TEST_CASE("modify_accounts_file from 8 threads loses no entry and leaves no temp file") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) {
                std::string error;
                const std::string name = "u" + std::to_string(t) + "_" + std::to_string(i);
                if (modify_accounts_file(path, [&](AccountsFile& f) { return add_one(f, make_account(name)); }, &error))
                    ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures == 0);
    std::string error;
    auto loaded = AccountsFile::load(path, &error);
    REQUIRE(loaded.ok());
    CHECK(loaded->all().size() == 80);
    for (const auto& name : folder_entries(dir.path)) CHECK(name.find(".tmp.") == std::string::npos);
#if !defined(_WIN32)  // no mode bits on Windows: the files get the folder's inherited ACL
    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    REQUIRE(::stat((path + ".lock").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
#endif
}

TEST_CASE("an abandoned change writes nothing") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    std::string error;
    CHECK(modify_accounts_file(path, [](AccountsFile& f) { return add_one(f, make_account("a")); }, &error) == 0);
    CHECK(modify_accounts_file(path, [](AccountsFile& f) { f.remove("a"); return Status(Errc::permission); }, &error) == Errc::permission);
    CHECK(AccountsFile::load(path, &error)->find("a") != nullptr);
}

TEST_CASE("modify_accounts_file creates missing parent folders") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("var/deeper/users.toml");
    std::string error;
    CHECK(modify_accounts_file(path, [](AccountsFile& f) { return add_one(f, make_account("a")); }, &error) == 0);
    CHECK(std::filesystem::exists(path));
}

TEST_CASE("AccountStore sees changes made by others and keeps the last good file") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    FileAccountStore store(path);
    CHECK_FALSE(store.find("alice").has_value());
    std::string error;
    REQUIRE(modify_accounts_file(path, [](AccountsFile& f) { return add_one(f, make_account("alice")); }, &error) == 0);
    CHECK(store.find("alice").has_value());  // written behind the store's back
    REQUIRE(store.modify([](AccountsFile& f) { return add_one(f, make_account("bob")); }, &error) == 0);
    CHECK(store.find("bob").has_value());
    write_text(path, "this is [not toml");  // a broken hand edit
    CHECK(store.find("alice").has_value());
    std::filesystem::remove(path);
    CHECK_FALSE(store.find("alice").has_value());
}

TEST_CASE("AccountStore::changed_since reports each change once") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    FileAccountStore store(path);
    std::uint64_t seen = 0;
    auto first = store.changed_since(seen);  // the first look always reports
    REQUIRE(first.has_value());
    CHECK(first->all().empty());
    CHECK_FALSE(store.changed_since(seen).has_value());
    std::string error;
    REQUIRE(modify_accounts_file(path, [](AccountsFile& f) { return add_one(f, make_account("carol")); }, &error) == 0);
    auto second = store.changed_since(seen);  // written behind the store's back
    REQUIRE(second.has_value());
    CHECK(second->find("carol") != nullptr);
    CHECK_FALSE(store.changed_since(seen).has_value());
    write_text(path, "this is [not toml");  // a broken edit changes nothing that is served
    CHECK_FALSE(store.changed_since(seen).has_value());
}

TEST_CASE("password hash and verify") {
    REQUIRE(init_crypto());
    const std::string hash = hash_password("correct horse");
    CHECK(hash.starts_with("$argon2id$"));
    CHECK(verify_password(hash, "correct horse"));
    CHECK_FALSE(verify_password(hash, "wrong horse"));
    CHECK_FALSE(verify_password(hash, ""));
    CHECK_FALSE(verify_password("", "correct horse"));
    CHECK_FALSE(verify_password("", ""));
    CHECK_FALSE(verify_password("garbage", "correct horse"));
    CHECK_FALSE(verify_password("$argon2id$v=19$m=65536,t=2,p=1$broken", "correct horse"));
    CHECK(hash_password("correct horse") != hash);  // salted
}

TEST_CASE("random_password uses the unambiguous alphabet") {
    const std::string a = random_password(64);
    CHECK(a.size() == 64);
    CHECK(a.find_first_of("0O1lI") == std::string::npos);
    CHECK(a != random_password(64));
    CHECK(random_password(0).empty());
}

TEST_CASE("an unusable hash costs about as much as a real verification") {
    REQUIRE(init_crypto());
    const std::string hash = hash_password("correct horse");
    auto time_of = [](auto&& call) {
        const auto start = std::chrono::steady_clock::now();
        call();
        return std::chrono::steady_clock::now() - start;
    };
    const auto real = time_of([&] { CHECK_FALSE(verify_password(hash, "wrong horse")); });
    const auto unknown = time_of([&] { CHECK_FALSE(verify_password("", "wrong horse")); });
    const auto garbage = time_of([&] { CHECK_FALSE(verify_password("$argon2id$nonsense", "wrong horse")); });
    // Loose bounds (machines are noisy); a skipped verification is ~1000 times faster.
    CHECK(unknown * 4 > real);
    CHECK(garbage * 4 > real);
}

TEST_CASE("an older file with names that differ only by case, or break the rules, still loads, blocked") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    std::string text;
    for (const char* name : {"alice", "Alice", "bob", "CON"})
        text += std::string("[users.") + name + "]\npassword = \"" + kHash + "\"\n";
    write_text(path, text);
    std::string error;
    auto loaded = AccountsFile::load(path, &error);
    REQUIRE_MESSAGE(loaded.ok(), error);
    CHECK(loaded->find("alice")->blocked.find("only by case") != std::string::npos);
    CHECK(loaded->find("Alice")->blocked.find("only by case") != std::string::npos);
    CHECK(loaded->find("bob")->blocked.empty());
    CHECK(loaded->find("CON")->blocked.find("rules") != std::string::npos);
    CHECK(loaded->blocked().size() == 3);
    CHECK_FALSE(loaded->add(make_account("BOB")));  // a new collision is never made
    CHECK(loaded->remove("Alice"));
    CHECK(loaded->find("alice")->blocked.empty());  // deleting one unblocks the other at once
}

TEST_CASE("password hashes, homes in .deleted and error positions") {
    CHECK(valid_password_hash(kHash));
    CHECK_FALSE(valid_password_hash(""));
    CHECK_FALSE(valid_password_hash("$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA"));
    CHECK_FALSE(valid_password_hash("$2y$10$abcdefghijklmnopqrstuu"));
    CHECK_FALSE(valid_home_path(".deleted"));
    CHECK_FALSE(valid_home_path(".deleted/bob-20261201T000000Z"));
    CHECK(valid_home_path("team/.deleted"));
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    write_text(path, "[users.alice]\npassword = \"$argon2id$bad\"\n");
    std::string error;
    CHECK_FALSE(AccountsFile::load(path, &error).ok());
    CHECK(error.find(path + ":2:12: users.alice.password: not an argon2id hash") == 0);
    write_text(path, std::string("[users.alice]\npassword = \"") + kHash + "\"\nhome = \"../../etc\"\n");
    CHECK_FALSE(AccountsFile::load(path, &error).ok());
    CHECK(error.find(path + ":3:8: users.alice.home") == 0);
}

TEST_CASE("groups, permissions, limits, networks and expiry survive save and reload") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    std::string error;
    REQUIRE(modify_accounts_file(
                path,
                [](AccountsFile& file) {
                    Group team{"team", {}};
                    team.settings.permissions["/"] = *Permissions::parse("all");
                    team.settings.permissions["/archive 2025"] = *Permissions::parse("list,download");
                    team.settings.limits.transfers = 3;
                    if (!file.add_group(team) || !file.add_group(Group{"empty", {}})) return Status(Errc::exists);
                    Account alice = make_account("alice");
                    alice.groups = {"team", "empty"};
                    alice.expires = Date::parse("2027-06-30");
                    alice.settings.permissions["/drop"] = *Permissions::parse("upload,mkdir");
                    alice.settings.limits.upload_rate = 500 * 1024;
                    alice.settings.limits.download_rate = 0;
                    alice.settings.allow = parse_networks("10.0.0.0/8,2001:db8::/32", nullptr);
                    alice.settings.deny = *parse_networks("10.9.0.0/16", nullptr);
                    return add_one(file, alice);
                },
                &error) == 0);
    auto loaded = AccountsFile::load(path, &error);
    REQUIRE_MESSAGE(loaded.ok(), error);
    const Account* alice = loaded->find("alice");
    REQUIRE(alice);
    CHECK(alice->groups == std::vector<std::string>{"team", "empty"});
    CHECK(alice->expires->text() == "2027-06-30");
    CHECK(alice->settings.permissions.at("/drop").text() == "upload,mkdir");
    CHECK(alice->settings.limits.upload_rate == 500u * 1024);
    CHECK(alice->settings.limits.download_rate == 0u);
    CHECK_FALSE(alice->settings.limits.transfers);
    CHECK(networks_text(*alice->settings.allow) == "10.0.0.0/8,2001:db8::/32");
    CHECK(networks_text(alice->settings.deny) == "10.9.0.0/16");
    REQUIRE(loaded->find_group("team"));
    CHECK(loaded->find_group("team")->settings.permissions.at("/archive 2025").text() == "list,download");
    CHECK(loaded->find_group("empty")->settings.empty());
    CHECK(loaded->members_of("team") == std::vector<std::string>{"alice"});
    const EffectivePolicy policy = loaded->policy_of(*alice);
    CHECK(policy.limits().transfers == 3u);
    CHECK_FALSE(policy.allows(Permission::upload, "/archive 2025/x"));
    CHECK_FALSE(policy.allows(Permission::download, "/drop/x"));
    CHECK(policy.allows(Permission::remove, "/x"));
    CHECK(loaded->to_toml() == AccountsFile::load(path, &error)->to_toml());

    // The database keeps the same tables without a prefix.
    auto settings = settings_from_toml(settings_toml(alice->settings, ""), &error);
    REQUIRE_MESSAGE(settings, error);
    CHECK(*settings == alice->settings);
    CHECK(settings_from_toml("", &error)->empty());
    CHECK_FALSE(settings_from_toml("[limits]\nspeed = 1\n", &error));
}

TEST_CASE("shared folders and their grants survive save and reload; deleting a folder drops its grants") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("users.toml");
    std::string error;
    REQUIRE(modify_accounts_file(
                path,
                [](AccountsFile& file) {
                    if (!file.add_folder(SharedFolder{"team", 10 << 20}) || !file.add_folder(SharedFolder{"docs", unlimited_bytes}))
                        return Status(Errc::exists);
                    if (file.add_folder(SharedFolder{"team", 1})) return Status(Errc::invalid);  // taken
                    Group crew{"crew", {}};
                    crew.settings.folders["team"] = FolderGrant{"/team", *Permissions::parse("all")};
                    if (!file.add_group(crew)) return Status(Errc::exists);
                    Account alice = make_account("alice");
                    alice.groups = {"crew"};
                    alice.settings.folders["docs"] = FolderGrant{"/projects/docs", *Permissions::parse("list,download")};
                    return add_one(file, alice);
                },
                &error) == 0);
    auto loaded = AccountsFile::load(path, &error);
    REQUIRE_MESSAGE(loaded.ok(), error);
    CHECK(loaded->find_folder("team")->quota == 10u << 20);
    CHECK(loaded->find_folder("docs")->quota == unlimited_bytes);
    const Account* alice = loaded->find("alice");
    REQUIRE(alice);
    CHECK(alice->settings.folders.at("docs") == FolderGrant{"/projects/docs", *Permissions::parse("list,download")});
    const EffectivePolicy policy = loaded->policy_of(*alice);
    REQUIRE(policy.mounts().size() == 2);
    CHECK(policy.mount_of("/team/x")->quota == 10u << 20);
    CHECK(policy.mount_of("/projects/docs")->from == "alice");
    CHECK_FALSE(policy.allows(Permission::upload, "/projects/docs/a"));
    CHECK(loaded->grants_of("team") == std::vector<std::string>{"group crew"});
    CHECK(loaded->to_toml() == AccountsFile::load(path, &error)->to_toml());
    auto settings = settings_from_toml(settings_toml(alice->settings, ""), &error);
    REQUIRE_MESSAGE(settings, error);
    CHECK(*settings == alice->settings);

    CHECK(loaded->remove_folder("team"));
    CHECK_FALSE(loaded->remove_folder("team"));
    CHECK(loaded->find_group("crew")->settings.folders.empty());
    CHECK(loaded->policy_of(*loaded->find("alice")).mounts().size() == 1);
}

TEST_CASE("a malformed policy names the field, and a group that does not exist is refused") {
    const testing::TempDir dir("accounts");
    const std::string path = dir.file("bad.toml");
    const std::string user = std::string("[users.alice]\npassword = \"") + kHash + "\"\n";
    const std::pair<std::string, const char*> cases[] = {
        {user + "groups = [\"ghosts\"]\n", "no group \"ghosts\""},
        {user + "groups = \"team\"\n", "users.alice.groups"},
        {user + "expires = \"2027-02-30\"\n", "users.alice.expires"},
        {user + "[users.alice.permissions]\n\"/a\" = \"list,write\"\n", "unknown permission \"write\""},
        {user + "[users.alice.permissions]\n\"a\" = \"list\"\n", "absolute"},
        {user + "[users.alice.permissions]\n\"/a/../b\" = \"list\"\n", "\"..\""},
        {user + "[users.alice.limits]\nupload = \"fast\"\n", "users.alice.limits.upload"},
        {user + "[users.alice.limits]\nburst = 1\n", "users.alice.limits.burst"},
        {user + "[users.alice.networks]\nallow = [\"10.0.0.0/40\"]\n", "10.0.0.0/40"},
        {user + "[users.alice.networks]\nallow = \"10.0.0.0/8\"\n", "users.alice.networks.allow"},
        {"[groups.\"bad name\"]\n", "not a valid group name"},
        {"[groups.team]\nquota = 5\n", "groups.team.quota"},
        {user + "[users.alice.folders.team]\nat = \"/team\"\n", "no folder \"team\""},
        {"[folders.team]\n" + user + "[users.alice.folders.team]\nat = \"/\"\n", "must not be /"},
        {"[folders.team]\n" + user + "[users.alice.folders.team]\nat = \"team\"\n", "absolute"},
        {"[folders.team]\n" + user + "[users.alice.folders.team]\nat = \"/t\"\nwho = 1\n", "users.alice.folders.team.who"},
        {"[folders.team]\n[folders.docs]\n" + user +
             "[users.alice.folders.team]\nat = \"/t\"\n[users.alice.folders.docs]\nat = \"/t/d\"\n",
         "mount over"},
        {"[folders.team]\nquota = \"lots\"\n", "folders.team.quota"},
        {"[folders.\"a/b\"]\n", "not a valid folder name"},
    };
    for (const auto& [text, wanted] : cases) {
        CAPTURE(text);
        write_text(path, text);
        std::string error;
        CHECK_FALSE(AccountsFile::load(path, &error).ok());
        CHECK(error.find(wanted) != std::string::npos);
    }
}
