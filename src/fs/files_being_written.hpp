// The files that uploads are writing right now, in any session. Under kernel TLS, SSL_sendfile
// hands page-cache pages to the TCP stack, which encrypts them when it sends them; a file that
// changes meanwhile can produce records that fail to authenticate on a retransmission (OpenSSL's
// issue tracker, PR 18650). Downloads of these files take the copying SSL_write path instead.
#pragma once
#include "sys/file.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

namespace ferry::fs {

class FilesBeingWritten {
public:
    using Key = sys::FileId;

    // Marks a file as being written for as long as the mark lives. Move-only.
    class Mark {
    public:
        Mark() = default;
        Mark(FilesBeingWritten* registry, Key key) : registry_(registry), key_(key) {}
        Mark(Mark&& other) noexcept : registry_(std::exchange(other.registry_, nullptr)), key_(other.key_) {}
        Mark& operator=(Mark&& other) noexcept {
            if (this != &other) {
                release();
                registry_ = std::exchange(other.registry_, nullptr);
                key_ = other.key_;
            }
            return *this;
        }
        Mark(const Mark&) = delete;
        Mark& operator=(const Mark&) = delete;
        ~Mark() { release(); }

    private:
        void release() {
            if (registry_) std::exchange(registry_, nullptr)->remove(key_);
        }
        FilesBeingWritten* registry_ = nullptr;
        Key key_{};
    };

    Mark mark(sys::FileId id) {
        std::lock_guard lock(mutex_);
        ++writers_[id];
        return Mark(this, id);
    }
    bool contains(sys::FileId id) {
        std::lock_guard lock(mutex_);
        return writers_.contains(id);
    }

private:
    void remove(Key key) {
        std::lock_guard lock(mutex_);
        auto it = writers_.find(key);
        if (it != writers_.end() && --it->second == 0) writers_.erase(it);
    }
    std::mutex mutex_;
    std::map<Key, unsigned> writers_;
};

}  // namespace ferry::fs
