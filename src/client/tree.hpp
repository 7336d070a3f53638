// The two sides of a many-file command as trees: a local folder walked on disk, a remote one
// walked with MLSD (with the server's kept digests as facts where it offers them: ferryd's
// X.<algo>) or, on servers without MLSD, LIST's `ls -l` lines.
#pragma once
#include "client/options.hpp"
#include "client/session.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::client {

enum class EntryType { file, folder, other };

struct TreeEntry {
    EntryType type = EntryType::other;
    std::uint64_t size = 0;
    std::int64_t mtime = -1;            // seconds since 1970 UTC; -1 when unknown
    std::optional<std::string> digest;  // the server's kept digest (lower-case hex), from MLSD
};

// Paths relative to the tree's root, '/'-separated ("docs/a.txt"); a folder sorts before what it
// holds. An empty tree whose root does not exist has `exists` false.
struct Tree {
    bool exists = false;
    std::map<std::string, TreeEntry> entries;
};

// Walks `root` (a folder) on this machine. Links are not followed and are left out (so a link
// cycle cannot make the walk endless); so are sockets, devices and FIFOs. Throws ClientError.
Tree local_tree(const std::string& root);

// Walks `root` on the server. `digest` asks for that algorithm's kept digests where the server
// lists them (FEAT's MLST line offers X.md5, X.sha-256, ...). Throws ClientError when a folder
// cannot be listed, except a missing root (exists false).
Tree remote_tree(Session& session, const std::string& root, std::optional<DigestAlgo> digest);
// The entries of one remote folder only ("" = the current one).
Tree remote_folder_tree(Session& session, const std::string& folder);

// Whether the server's listings carry `algo`'s kept digests (an X.<algo> fact in FEAT).
bool server_lists_digests(const Session& session, DigestAlgo algo);

// One MLSD line ("type=file;size=12;modify=20261127042500;X.md5=...; name") with its name; nullopt
// for "." and "..", or a line without facts. `digest_fact` is lower case ("x.md5").
std::optional<std::pair<std::string, TreeEntry>> parse_mlsd_line(std::string_view line, std::string_view digest_fact);
// One `ls -l` line ("-rw-r--r-- 1 u g 12 Nov 27 04:25 name"); nullopt for "total N" and the like.
std::optional<std::pair<std::string, TreeEntry>> parse_list_line(std::string_view line);

// "a/b" + "c" -> "a/b/c"; "" + "c" -> "c"; "/" + "c" -> "/c".
std::string join_path(std::string_view folder, std::string_view name);

}  // namespace ferry::client
