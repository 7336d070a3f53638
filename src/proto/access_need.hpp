// What a file request asks of the account's access policy (auth/policy.hpp). Every command that
// touches a home names its Need when it makes its request (Session::on_io), and on_io checks it
// there before any work is queued: one place, so no handler can forget it. A refusal is
// "550 Permission denied: <what> on <path>" and a log line.
#pragma once
#include "auth/policy.hpp"

#include <string>

namespace ferry::proto {

struct Need {
    enum class Kind {
        nothing,  // no file's content or name is touched (AVBL)
        one_of,   // at least one of `permissions` on `path` (and on `second_path`, if set)
        any,      // any permission at all on `path` (CWD)
    };
    Kind kind = Kind::nothing;
    auth::Permissions permissions;
    std::string path;
    std::string second_path;  // RNTO's target

    static Need to(auth::Permission permission, std::string path) {
        return {Kind::one_of, auth::Permissions::of({permission}), std::move(path), {}};
    }
    static Need one_of(auth::Permissions permissions, std::string path) {
        return {Kind::one_of, permissions, std::move(path), {}};
    }
    // RNFR's name to RNTO's: rename on both, and no rule of its own beneath either.
    static Need rename(std::string from, std::string to) {
        return {Kind::one_of, auth::Permissions::of({auth::Permission::rename}), std::move(from), std::move(to)};
    }
    static Need anything_on(std::string path) { return {Kind::any, {}, std::move(path), {}}; }
    static Need nothing() { return {}; }
};

}  // namespace ferry::proto
