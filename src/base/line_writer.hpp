// Lines written to a file by a thread of their own, so that no reactor waits for the disk (a log
// file on NFS, a full pipe on stderr) or for another thread's fflush under a lock. The queue is
// bounded: past `max_lines` new lines are dropped and counted, and the writer says how many as
// soon as it can (through `note_dropped`). The server's log (base/log.cpp) and the transfer log
// (proto/xferlog.cpp) each have one.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace ferry {

class LineWriter {
public:
    // What to write (and do) when lines were dropped; "" writes nothing. Runs on the writer thread.
    using NoteDropped = std::function<std::string(std::uint64_t dropped)>;
    LineWriter(std::size_t max_lines, NoteDropped note_dropped)
        : max_lines_(max_lines), note_dropped_(std::move(note_dropped)) {}
    ~LineWriter();
    LineWriter(const LineWriter&) = delete;
    LineWriter& operator=(const LineWriter&) = delete;

    // A whole line, its newline included. Written at once by the caller after stop().
    void push(std::string line);
    // The writer takes `file` (nullptr = stderr) before its next batch and closes the one before.
    void switch_to(std::FILE* file);
    // Everything queued is written, then the thread ends; later lines are written by their caller.
    void stop();

private:
    void run();
    void install(std::FILE* file);           // under mutex_, only where nothing writes to out_
    void write_now(const std::string& line);  // under mutex_

    const std::size_t max_lines_;
    const NoteDropped note_dropped_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> lines_;  // guarded by mutex_
    std::uint64_t dropped_ = 0;      // guarded by mutex_
    std::FILE* out_ = nullptr;       // the writer's (nullptr = stderr); changed only between batches
    std::FILE* next_ = nullptr;      // guarded by mutex_: what switch_to asked for
    bool switching_ = false;         // guarded by mutex_
    bool stopping_ = false;          // guarded by mutex_
    bool stopped_ = false;           // guarded by mutex_
    std::thread thread_;
};

}  // namespace ferry
