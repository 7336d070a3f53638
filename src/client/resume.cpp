#include "client/resume.hpp"

#include "base/size.hpp"
#include "client/digest.hpp"
#include "client/terminal.hpp"

#include <array>
#include <iostream>

namespace ferry::client {
namespace {

Plan plan_named(std::string_view name) {
    if (name == "resume") return Plan::resume;
    if (name == "overwrite") return Plan::overwrite;
    return Plan::skip;
}

// Asks when there is a terminal; otherwise (or at end of input) takes `fallback`.
Plan ask(std::string_view question, std::span<const std::string_view> choices, std::string_view fallback) {
    if (!stdin_is_terminal()) {
        std::cout << question << fallback << " (no terminal: default)\n";
        return plan_named(fallback);
    }
    const auto answer = ask_choice(question, choices, fallback);
    return answer ? plan_named(*answer) : Plan::skip;
}

Plan when_prefix_matches(const Options& options, const PartialTarget& target) {
    std::cout << "the first " << format_size(target.partial) << " (" << target.partial
              << " bytes) match: the earlier transfer can be resumed\n";
    if (options.answer == ResumeAnswer::resume || options.answer == ResumeAnswer::proven) return Plan::resume;
    if (options.answer == ResumeAnswer::overwrite) return Plan::overwrite;
    if (options.answer == ResumeAnswer::skip) return Plan::skip;
    static constexpr std::array<std::string_view, 3> choices{"resume", "overwrite", "skip"};
    return ask("resume / overwrite / skip? [resume] ", choices, "resume");
}

Plan when_prefix_differs(const Options& options) {
    static constexpr std::array<std::string_view, 2> choices{"overwrite", "skip"};
    if (options.answer == ResumeAnswer::skip) return Plan::skip;
    if (options.answer == ResumeAnswer::overwrite || options.answer == ResumeAnswer::proven) return Plan::overwrite;
    if (options.answer == ResumeAnswer::resume) {
        std::cout << "not resuming onto different content: overwriting instead\n";
        return Plan::overwrite;
    }
    return ask("overwrite / skip? [overwrite] ", choices, "overwrite");
}

Plan when_unprovable(const Options& options) {
    std::cout << "the server can't hash a byte range (no HASH with RANG), so the first bytes can't be "
                 "proven to match; --resume resumes anyway\n";
    if (options.answer == ResumeAnswer::resume) return Plan::resume;
    return when_prefix_differs(options);
}

}  // namespace

Plan decide_resume(Verifier& verifier, const Options& options, const PartialTarget& target) {
    const auto server = verifier.prefix(target.remote, target.partial);
    if (!server) return when_unprovable(options);
    const std::string mine = digest_file(target.local, server->algo, target.partial);
    if (mine == server->hex) return when_prefix_matches(options, target);
    std::cout << "the first " << target.partial << " bytes DIFFER (" << digest_name(server->algo) << " local "
              << mine << ", server " << server->hex << "): resuming would corrupt the file\n";
    return when_prefix_differs(options);
}

}  // namespace ferry::client
