// A move-only `void()` callable: what the reactor runs (post, defer, timers) and the worker pools
// run. std::function must be copyable, so a task holding a File or a CommandToken had to box them in
// a shared_ptr to fit; this one only moves. Callables up to `inline_size` bytes (most lambdas: a
// `this` and a few values) live inside it, larger ones on the heap.
#pragma once
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ferry {

class UniqueTask {
public:
    static constexpr std::size_t inline_size = 48;

    UniqueTask() noexcept = default;
    UniqueTask(std::nullptr_t) noexcept {}  // NOLINT: like std::function
    template <class F, class D = std::decay_t<F>>
        requires(!std::is_same_v<D, UniqueTask> && std::is_invocable_r_v<void, D&>)
    UniqueTask(F&& f) {  // NOLINT: converts from any callable, like std::function
        if constexpr (fits_inline<D>) {
            ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
            ops_ = &inline_ops<D>;
        } else {
            *reinterpret_cast<D**>(storage_) = new D(std::forward<F>(f));
            ops_ = &heap_ops<D>;
        }
    }
    UniqueTask(UniqueTask&& other) noexcept { take(other); }
    UniqueTask& operator=(UniqueTask&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    UniqueTask(const UniqueTask&) = delete;
    UniqueTask& operator=(const UniqueTask&) = delete;
    ~UniqueTask() { reset(); }

    void operator()() { ops_->call(storage_); }
    explicit operator bool() const noexcept { return ops_ != nullptr; }

private:
    struct Ops {
        void (*call)(void* storage);
        void (*move)(void* from, void* to) noexcept;  // leaves `from` empty of the callable
        void (*destroy)(void* storage) noexcept;
    };
    template <class D>
    static constexpr bool fits_inline = sizeof(D) <= inline_size && alignof(D) <= alignof(std::max_align_t) &&
                                        std::is_nothrow_move_constructible_v<D>;
    template <class D>
    static constexpr Ops inline_ops{
        [](void* s) { (*std::launder(static_cast<D*>(s)))(); },
        [](void* from, void* to) noexcept {
            D* source = std::launder(static_cast<D*>(from));
            ::new (to) D(std::move(*source));
            source->~D();
        },
        [](void* s) noexcept { std::launder(static_cast<D*>(s))->~D(); },
    };
    template <class D>
    static constexpr Ops heap_ops{
        [](void* s) { (**static_cast<D**>(s))(); },
        [](void* from, void* to) noexcept { *static_cast<D**>(to) = *static_cast<D**>(from); },
        [](void* s) noexcept { delete *static_cast<D**>(s); },
    };

    void take(UniqueTask& other) noexcept {
        if (!other.ops_) return;
        other.ops_->move(other.storage_, storage_);
        ops_ = std::exchange(other.ops_, nullptr);
    }
    void reset() noexcept {
        if (ops_) std::exchange(ops_, nullptr)->destroy(storage_);
    }

    alignas(std::max_align_t) unsigned char storage_[inline_size];
    const Ops* ops_ = nullptr;
};

}  // namespace ferry
