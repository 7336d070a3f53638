// Which RFC 3659 facts MLSD and MLST send: the client chooses with OPTS MLST. Besides the standard
// facts, X.md5, X.sha-1, X.sha-256 and X.sha-512 (local facts, RFC 3659 7.5) carry a file's
// whole-file digest where one is kept with the file and still current (fs/hash.hpp): a client can
// compare a whole folder with its own copy from one listing instead of a HASH per file. They are
// off until asked for, since each costs an open of the file.
#pragma once
#include "fs/hash.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::fs {

enum class Fact : std::uint8_t {
    type, size, modify, perm, unique, unix_mode, unix_owner, unix_group,
    x_md5, x_sha1, x_sha256, x_sha512,
};

class FactSet {
public:
    // What a client gets before any OPTS MLST: every standard fact (FEAT marks them with '*').
    static FactSet standard();
    // "type;size;X.sha-256;" (names case-insensitive; a name we do not know is ignored, as RFC 3659
    // 7.9 says; "" selects none).
    static FactSet parse(std::string_view list);

    bool has(Fact fact) const { return bits_ & bit(fact); }
    void add(Fact fact) { bits_ |= bit(fact); }
    // "type;size;X.sha-256;": the reply to OPTS MLST.
    std::string names() const;
    // The digest facts asked for.
    std::vector<HashAlgo> digests() const;

private:
    static std::uint16_t bit(Fact fact) { return static_cast<std::uint16_t>(1u << static_cast<unsigned>(fact)); }
    std::uint16_t bits_ = 0;
};

// FEAT's MLST line value: "type*;size*;...;UNIX.group*;X.md5;X.sha-1;X.sha-256;X.sha-512;".
std::string feat_fact_list();

struct KeptDigest {
    HashAlgo algo;
    std::string hex;
};

// The current kept digests of `file` among `wanted` (none where the file system keeps none).
std::vector<KeptDigest> kept_digests(const File& file, const std::vector<HashAlgo>& wanted);

}  // namespace ferry::fs
