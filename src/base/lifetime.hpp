// The one idiom for "does the object that started this still want its answer": deferred tasks,
// timers, pool jobs and completions hold a Lifetime::Token, and run only while it is valid. A token
// goes stale when its Lifetime is destroyed or renewed (renew = cancel everything handed out so far).
// Single-threaded like its owner: tokens are checked on the owner's reactor thread.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>

namespace ferry {

class Lifetime {
public:
    class Token {
    public:
        Token() = default;
        bool valid() const {
            const auto generation = generation_.lock();
            return generation && *generation == expected_;
        }

    private:
        friend class Lifetime;
        Token(std::weak_ptr<std::uint64_t> generation, std::uint64_t expected)
            : generation_(std::move(generation)), expected_(expected) {}
        std::weak_ptr<std::uint64_t> generation_;
        std::uint64_t expected_ = 0;
    };

    Lifetime() = default;
    Lifetime(const Lifetime&) = delete;
    Lifetime& operator=(const Lifetime&) = delete;

    Token token() const { return Token(generation_, *generation_); }
    // Every token handed out so far goes stale; new ones are valid.
    void renew() { ++*generation_; }

    // `task` wrapped to run only while the token taken now is valid.
    template <class F>
    auto guard(F task) const {
        return [token = token(), task = std::move(task)](auto&&... args) mutable {
            if (token.valid()) task(std::forward<decltype(args)>(args)...);
        };
    }

private:
    std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
};

}  // namespace ferry
