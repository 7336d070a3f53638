// What to do when the target of a transfer already holds a shorter file: prove (by digests of the
// common prefix) that it is the beginning of the source, then resume, overwrite or skip.
#pragma once
#include "client/options.hpp"
#include "client/verify.hpp"

#include <cstdint>
#include <string>

namespace ferry::client {

enum class Plan { resume, overwrite, skip };

struct PartialTarget {
    std::string local;          // the local file (source of a put, partial target of a get)
    std::string remote;         // the remote file (partial target of a put, source of a get)
    std::uint64_t partial = 0;  // bytes already at the target: the prefix to compare
};

// Compares the first `partial` bytes of both files (RANG + HASH on the server, EVP locally) and
// asks "resume / overwrite / skip" (equal) or "overwrite / skip" (different or unprovable), unless
// an answer was given on the command line. Without a terminal the defaults apply: resume when equal,
// overwrite otherwise; an unprovable prefix is resumed only with --resume.
Plan decide_resume(Verifier& verifier, const Options& options, const PartialTarget& target);

}  // namespace ferry::client
