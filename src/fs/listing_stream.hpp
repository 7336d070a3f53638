// LIST, NLST and MLSD text made a batch of entries at a time (see FolderReader), so a listing's
// memory stays the same whatever the size of the folder and however slowly the client reads.
// Also the patterns of LIST/NLST ("*.txt" in the last component, as mget sends).
#pragma once
#include "base/result.hpp"
#include "fs/home.hpp"
#include "fs/mlsx_facts.hpp"

#include <ctime>
#include <functional>
#include <memory>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::fs {

enum class ListingFormat { long_lines, names, facts };  // LIST, NLST, MLSD

// The entries mounted into a folder (shared folders, by their mount point's last name) given the
// folder's path; they are listed first and hide the folder's own entries of the same names.
using MountedEntries = std::function<std::vector<DirEntry>(const std::string& folder_vpath)>;

class ListingStream {
public:
    // The listing of `vpath`. `typed` is the argument as the client sent it (NLST names keep its
    // folder part). Errors come from here, before a byte is sent: not_found, not_directory (MLSD of
    // a file). A missing folder with mounted entries lists those alone. `facts`: MLSD's (OPTS MLST).
    static Result<ListingStream> open(std::shared_ptr<const Home> home, const std::string& vpath, ListingFormat format,
                                      std::string owner, std::string_view typed, const MountedEntries& mounted = {},
                                      const FactSet& facts = FactSet::standard());
    // The next piece, from at most `batch` entries; "" when the listing is done. Pool only.
    Result<std::string> next(std::size_t batch = 1000);

    ListingStream() = default;  // an empty listing (Result needs it)

private:
    ListingStream(std::shared_ptr<const Home> home, ListingFormat format, std::string owner);
    std::string line(const DirEntry& entry) const;
    std::vector<KeptDigest> digests_of(const DirEntry& entry) const;

    std::shared_ptr<const Home> home_;  // keeps the folder reachable while a session is gone
    ListingFormat format_ = ListingFormat::long_lines;
    std::string owner_;
    FactSet facts_;
    std::vector<HashAlgo> digests_;  // the digest facts asked for: each listed file is opened
    std::string listed_;             // the folder's vpath, to open its files by
    std::time_t now_ = 0;
    std::optional<FolderReader> reader_;
    std::string pattern_;       // "" = every entry
    std::string typed_folder_;  // "logs/" of "NLST logs/*.log"
    std::string single_;        // LIST of a file: its one line, sent once
    std::vector<DirEntry> mounted_;  // listed first, by the first next()
    std::vector<std::string> hidden_;  // their names, not listed again from the folder
};

// "*.txt", "2026-0?.log", "[ab]*": a name that LIST/NLST take for a pattern when nothing has that
// name. More than four '*' make it a plain name (as it did when matching was fnmatch's, which may
// backtrack at every '*'; clients' patterns have not needed more).
bool is_list_pattern(std::string_view name);
// Shell matching of one name (fnmatch with FNM_PERIOD, without FNM_PATHNAME): * ? [a-z] [!x] and
// backslash escapes; a leading dot only by a dot. Character classes ([:alpha:]) are not supported.
bool matches_list_pattern(std::string_view pattern, std::string_view name);

}  // namespace ferry::fs
