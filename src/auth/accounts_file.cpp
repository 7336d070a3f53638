// AccountsFile as a set in memory: lookups, adding and removing accounts, groups and shared
// folders, and each account's policy after its groups. Reading and writing the file's format is
// accounts.cpp.
#include "auth/accounts.hpp"

#include <algorithm>
#include <map>

namespace ferry::auth {

const Account* AccountsFile::find(std::string_view name) const {
    auto it = accounts_.find(name);
    return it == accounts_.end() ? nullptr : &it->second;
}

Account* AccountsFile::find_mutable(std::string_view name) {
    auto it = accounts_.find(name);
    return it == accounts_.end() ? nullptr : &it->second;
}

const Account* AccountsFile::find_folded(std::string_view name) const {
    const std::string folded = folded_name(name);
    for (const auto& [key, account] : accounts_)
        if (folded_name(key) == folded) return &account;
    return nullptr;
}

std::vector<const Account*> AccountsFile::blocked() const {
    std::vector<const Account*> out;
    for (const auto& [name, account] : accounts_)
        if (!account.blocked.empty()) out.push_back(&account);
    return out;
}

void AccountsFile::mark_blocked() {
    std::map<std::string, std::vector<Account*>> by_folded;
    for (auto& [name, account] : accounts_) {
        account.blocked = valid_user_name(name) ? "" : "the name breaks the rules for account names";
        by_folded[folded_name(name)].push_back(&account);
    }
    for (auto& [folded, same] : by_folded) {
        if (same.size() < 2) continue;
        for (Account* account : same)
            if (account->blocked.empty()) account->blocked = "another account's name differs from it only by case";
    }
}

bool AccountsFile::add(Account account) {
    // An invalid name would make the file unloadable after the next save.
    if (!valid_user_name(account.name) || find_folded(account.name)) return false;
    if (account.home.empty()) account.home = account.name;
    std::string name = account.name;
    accounts_.emplace(std::move(name), std::move(account));
    return true;
}

bool AccountsFile::remove(std::string_view name) {
    auto it = accounts_.find(name);
    if (it == accounts_.end()) return false;
    accounts_.erase(it);
    mark_blocked();
    return true;
}

const Group* AccountsFile::find_group(std::string_view name) const {
    auto it = groups_.find(name);
    return it == groups_.end() ? nullptr : &it->second;
}

Group* AccountsFile::find_group_mutable(std::string_view name) {
    auto it = groups_.find(name);
    return it == groups_.end() ? nullptr : &it->second;
}

bool AccountsFile::add_group(Group group) {
    if (!valid_group_name(group.name) || groups_.contains(group.name)) return false;
    std::string name = group.name;
    groups_.emplace(std::move(name), std::move(group));
    return true;
}

bool AccountsFile::remove_group(std::string_view name) {
    auto it = groups_.find(name);
    if (it == groups_.end()) return false;
    groups_.erase(it);
    return true;
}

std::vector<std::string> AccountsFile::members_of(std::string_view name) const {
    std::vector<std::string> members;
    for (const auto& [account_name, account] : accounts_)
        if (std::find(account.groups.begin(), account.groups.end(), name) != account.groups.end()) members.push_back(account_name);
    return members;
}

EffectivePolicy AccountsFile::policy_of(const Account& account) const {
    std::vector<const Group*> groups;
    for (const auto& name : account.groups)
        if (const Group* group = find_group(name)) groups.push_back(group);
    return resolve_policy(account.name, account.settings, groups, &folders_);
}

const SharedFolder* AccountsFile::find_folder(std::string_view name) const {
    auto it = folders_.find(name);
    return it == folders_.end() ? nullptr : &it->second;
}

SharedFolder* AccountsFile::find_folder_mutable(std::string_view name) {
    auto it = folders_.find(name);
    return it == folders_.end() ? nullptr : &it->second;
}

bool AccountsFile::add_folder(SharedFolder folder) {
    if (!valid_group_name(folder.name) || folders_.contains(folder.name)) return false;
    std::string name = folder.name;
    folders_.emplace(std::move(name), std::move(folder));
    return true;
}

bool AccountsFile::remove_folder(std::string_view name) {
    auto it = folders_.find(name);
    if (it == folders_.end()) return false;
    for (auto& [account_name, account] : accounts_) account.settings.folders.erase(it->first);
    for (auto& [group_name, group] : groups_) group.settings.folders.erase(it->first);
    folders_.erase(it);
    return true;
}

std::vector<std::string> AccountsFile::grants_of(std::string_view folder) const {
    std::vector<std::string> grants;
    for (const auto& [name, account] : accounts_)
        if (account.settings.folders.contains(folder)) grants.push_back("user " + name);
    for (const auto& [name, group] : groups_)
        if (group.settings.folders.contains(folder)) grants.push_back("group " + name);
    return grants;
}

}  // namespace ferry::auth
