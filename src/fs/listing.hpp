// Text of directory listings: LIST (ls -l), NLST (names), MLSD/MLST facts (RFC 3659).
#pragma once
#include "fs/home.hpp"
#include "fs/mlsx_facts.hpp"

#include <ctime>
#include <span>
#include <string>
#include <string_view>

namespace ferry::fs {

// "drwxr-x---   1 owner group     4096 Nov 27 04:25 name\r\n". Owner and group are the FTP user's
// name (never the server's uid/gid). Recent files show the time, older than six months the year.
std::string list_line(const DirEntry& entry, std::string_view owner, std::time_t now);

// "type=file;size=12;modify=20261127042500;perm=adfrw;unique=803g1a2;UNIX.mode=0644;
//  UNIX.owner=alice;UNIX.group=alice; name\r\n".
// `type` is "cdir"/"pdir" for MLSD's "." and ".." entries when given as kind, else file/dir/OS.unix=symlink.
// perm follows RFC 3659 7.5.5 for what this user may do (files: adfrw, folders: cdeflmp). The UNIX.*
// facts (what FileZilla shows in its owner column and permissions dialog) name the FTP user as
// owner and group, as LIST does, never the server's uid/gid.
// `wanted` is the client's choice (OPTS MLST); `digests` the file's kept digests it asked for.
std::string mlsx_line(const DirEntry& entry, std::string_view owner, std::string_view type_override = {},
                      const FactSet& wanted = FactSet::standard(), std::span<const KeptDigest> digests = {});

// Facts only, for MLST's single-line reply (" type=...; /path\r\n" is assembled by the session).
std::string mlsx_facts(const FileInfo& info, std::string_view owner, std::string_view type_override = {},
                       const FactSet& wanted = FactSet::standard(), std::span<const KeptDigest> digests = {});

// A name as it may appear in a listing or a reply: CR and LF become '?' so that a file name can
// never end a line early and forge listing lines or replies.
std::string displayed_name(std::string_view name);

// "YYYYMMDDHHMMSS" in UTC, for MDTM and modify=.
std::string utc_timestamp(std::time_t t);

// Parse "YYYYMMDDHHMMSS" (optionally ".sss") as UTC; -1 when malformed. For MFMT.
std::int64_t parse_utc_timestamp(std::string_view text);

}  // namespace ferry::fs
