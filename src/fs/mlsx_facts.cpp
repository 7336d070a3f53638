#include "fs/mlsx_facts.hpp"

#include "base/log.hpp"

#include <array>
#include <cctype>

namespace ferry::fs {
namespace {

struct FactInfo {
    Fact fact;
    std::string_view name;
    bool standard;
};

constexpr std::array<FactInfo, 12> facts = {{
    {Fact::type, "type", true},
    {Fact::size, "size", true},
    {Fact::modify, "modify", true},
    {Fact::perm, "perm", true},
    {Fact::unique, "unique", true},
    {Fact::unix_mode, "UNIX.mode", true},
    {Fact::unix_owner, "UNIX.owner", true},
    {Fact::unix_group, "UNIX.group", true},
    {Fact::x_md5, "X.md5", false},
    {Fact::x_sha1, "X.sha-1", false},
    {Fact::x_sha256, "X.sha-256", false},
    {Fact::x_sha512, "X.sha-512", false},
}};

constexpr std::array<std::pair<Fact, HashAlgo>, 4> digest_facts = {{
    {Fact::x_md5, HashAlgo::md5},
    {Fact::x_sha1, HashAlgo::sha1},
    {Fact::x_sha256, HashAlgo::sha256},
    {Fact::x_sha512, HashAlgo::sha512},
}};

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

}  // namespace

FactSet FactSet::standard() {
    FactSet set;
    for (const auto& info : facts)
        if (info.standard) set.add(info.fact);
    return set;
}

FactSet FactSet::parse(std::string_view list) {
    FactSet set;
    while (!list.empty()) {
        const auto end = list.find(';');
        const std::string_view name = list.substr(0, end);
        for (const auto& info : facts)
            if (same_name(name, info.name)) set.add(info.fact);
        list.remove_prefix(end == std::string_view::npos ? list.size() : end + 1);
    }
    return set;
}

std::string FactSet::names() const {
    std::string text;
    for (const auto& info : facts)
        if (has(info.fact)) text += cat(info.name, ';');
    return text;
}

std::vector<HashAlgo> FactSet::digests() const {
    std::vector<HashAlgo> algos;
    for (const auto& [fact, algo] : digest_facts)
        if (has(fact)) algos.push_back(algo);
    return algos;
}

std::string feat_fact_list() {
    std::string text;
    for (const auto& info : facts) text += cat(info.name, info.standard ? "*;" : ";");
    return text;
}

std::vector<KeptDigest> kept_digests(const File& file, const std::vector<HashAlgo>& wanted) {
    std::vector<KeptDigest> kept;
    for (const HashAlgo algo : wanted)
        if (auto hex = stored_digest(file, algo)) kept.push_back({algo, std::move(*hex)});
    return kept;
}

}  // namespace ferry::fs
