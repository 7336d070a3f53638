#include "fs/listing_stream.hpp"

#include "base/log.hpp"
#include "fs/listing.hpp"
#include "fs/vpath.hpp"

#include <algorithm>

namespace ferry::fs {
namespace {

// One bracket expression at pattern[p] ('[' already passed): whether `c` is in it, and where the
// pattern goes on after ']'. nullopt when there is no closing ']' (the '[' is then a literal).
struct Bracket {
    bool matched;
    std::size_t next;
};
std::optional<Bracket> match_bracket(std::string_view pattern, std::size_t p, char c) {
    const bool negated = p < pattern.size() && (pattern[p] == '!' || pattern[p] == '^');
    if (negated) ++p;
    bool matched = false;
    for (bool first = true; p < pattern.size(); first = false) {
        char low = pattern[p];
        if (low == ']' && !first) return Bracket{matched != negated, p + 1};
        if (low == '\\' && p + 1 < pattern.size()) low = pattern[++p];
        char high = low;
        if (p + 2 < pattern.size() && pattern[p + 1] == '-' && pattern[p + 2] != ']') {
            p += 2;
            high = pattern[p];
            if (high == '\\' && p + 1 < pattern.size()) high = pattern[++p];
        }
        const auto u = static_cast<unsigned char>(c);
        if (static_cast<unsigned char>(low) <= u && u <= static_cast<unsigned char>(high)) matched = true;
        ++p;
    }
    return std::nullopt;
}

}  // namespace

bool matches_list_pattern(std::string_view pattern, std::string_view name) {
    // A leading dot is matched only by a dot in the pattern, never by * ? or [...].
    if (!name.empty() && name[0] == '.' && !(pattern.substr(0, 1) == "." || pattern.substr(0, 2) == "\\."))
        return false;
    // One star is enough to remember: on a mismatch the last star takes one more character. This
    // keeps the work at O(pattern x name) however many stars there are.
    std::size_t p = 0, n = 0;
    std::size_t star = std::string_view::npos, star_n = 0;
    while (n < name.size()) {
        if (p < pattern.size()) {
            const char c = pattern[p];
            if (c == '*') {
                star = p++;
                star_n = n;
                continue;
            }
            if (c == '?') {
                ++p, ++n;
                continue;
            }
            if (c == '[') {
                if (const auto bracket = match_bracket(pattern, p + 1, name[n])) {
                    if (bracket->matched) {
                        p = bracket->next, ++n;
                        continue;
                    }
                } else if (name[n] == '[') {
                    ++p, ++n;
                    continue;
                }
            } else {
                const bool escaped = c == '\\' && p + 1 < pattern.size();
                if (name[n] == (escaped ? pattern[p + 1] : c)) {
                    p += escaped ? 2 : 1, ++n;
                    continue;
                }
            }
        }
        if (star == std::string_view::npos) return false;
        p = star + 1;
        n = ++star_n;
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool is_list_pattern(std::string_view name) {
    constexpr std::ptrdiff_t max_stars = 4;
    return name.find_first_of("*?[") != std::string_view::npos &&
           std::count(name.begin(), name.end(), '*') <= max_stars;
}

ListingStream::ListingStream(std::shared_ptr<const Home> home, ListingFormat format, std::string owner)
    : home_(std::move(home)), format_(format), owner_(std::move(owner)), now_(std::time(nullptr)) {}

Result<ListingStream> ListingStream::open(std::shared_ptr<const Home> home, const std::string& vpath,
                                          ListingFormat format, std::string owner, std::string_view typed,
                                          const MountedEntries& mounted, const FactSet& facts) {
    ListingStream stream(home, format, std::move(owner));
    stream.facts_ = facts;
    if (format == ListingFormat::facts) stream.digests_ = facts.digests();
    // A folder, nearly always: read it without a stat first (on network storage each is a round
    // trip). Only a name that is no folder (or none) is stat'ed: a file, a pattern, or a folder
    // made between the two looks, which is read after all.
    auto folder = home->read_folder(vpath);
    std::string listed = vpath;  // the folder whose entries are listed
    Error missing;                // why the name is neither a folder, a file nor a pattern
    if (!folder && (folder.error() == Errc::not_directory || folder.error() == Errc::not_found)) {
        auto st = home->stat(vpath);
        const std::string name(vpath_name(vpath));
        // A name that exists as typed is never taken for a pattern; MLSD never takes one.
        const bool pattern = !st && st.error() == Errc::not_found && format != ListingFormat::facts && is_list_pattern(name);
        if (pattern) {
            listed = vpath_parent(vpath);
            folder = home->read_folder(listed);
            stream.pattern_ = name;
            const auto slash = typed.rfind('/');
            stream.typed_folder_ = slash == std::string_view::npos ? "" : std::string(typed.substr(0, slash + 1));
        } else if (st && st->is_directory()) {
            folder = home->read_folder(vpath);
        } else if (st) {
            if (format == ListingFormat::facts) return Error(Errc::not_directory);
            stream.single_ = stream.line(DirEntry{name, *st});  // a file lists as its own line
            return stream;
        } else {
            missing = st.error();
        }
    }
    if (mounted) {
        stream.mounted_ = mounted(listed);
        for (const auto& entry : stream.mounted_) stream.hidden_.push_back(entry.name);
    }
    // A folder the home lacks but a mount point lies in: the mounts alone.
    if (!folder && folder.error() == Errc::not_found && !stream.mounted_.empty()) return stream;
    if (missing) return missing;
    if (!folder) return folder.error();
    stream.reader_ = std::move(*folder);
    stream.listed_ = listed;
    return stream;
}

std::string ListingStream::line(const DirEntry& entry) const {
    switch (format_) {
        case ListingFormat::facts: return mlsx_line(entry, owner_, {}, facts_, digests_of(entry));
        case ListingFormat::names: return typed_folder_ + displayed_name(entry.name) + "\r\n";
        case ListingFormat::long_lines: break;
    }
    return list_line(entry, owner_, now_);
}

// Opened through the home like any file (beneath it, no links followed, never a FIFO): the name
// may have changed since the folder was read. A file that cannot be opened is listed without.
std::vector<KeptDigest> ListingStream::digests_of(const DirEntry& entry) const {
    if (digests_.empty() || !entry.info.is_regular() || listed_.empty()) return {};
    const std::string vpath = listed_ == "/" ? "/" + entry.name : cat(listed_, '/', entry.name);
    const auto file = home_->open_read(vpath);
    if (!file) return {};
    return kept_digests(*file, digests_);
}

Result<std::string> ListingStream::next(std::size_t batch) {
    if (!single_.empty()) return std::exchange(single_, std::string());
    std::string text;
    for (const auto& entry : std::exchange(mounted_, {}))
        if (pattern_.empty() || matches_list_pattern(pattern_, entry.name)) text += line(entry);
    while (reader_ && text.empty()) {
        auto entries = reader_->next(batch);
        if (!entries) return entries.error();
        if (entries->empty()) {
            reader_.reset();  // done: the folder is closed now, not when the transfer ends
            break;
        }
        for (const auto& entry : *entries) {
            // Dot files only when the pattern starts with a dot, as in a shell.
            if (!pattern_.empty() && !matches_list_pattern(pattern_, entry.name)) continue;
            if (!hidden_.empty() && std::find(hidden_.begin(), hidden_.end(), entry.name) != hidden_.end()) continue;
            text += line(entry);
        }
    }
    return text;
}

}  // namespace ferry::fs
