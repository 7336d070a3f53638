// fsops: does io_uring run a file server's metadata calls better than a thread pool? Issue 27 asked
// for the measurement before any use of it. One "reactor" thread has DEPTH calls in flight at a
// time, as ferryd's sessions do, and either
//   pool:  hands each call to one of DEPTH threads (mutex + condition variable, as net/worker_pool),
//          which posts the result back through a queue and an eventfd (as Reactor::post does), or
//   uring: submits it to an io_uring and reaps the completions (liburing).
// Calls: statx of a file, openat + close of a file, mkdirat + unlinkat of a folder, all in DIR,
// which the caller may put on slowfs (bench/slowfs) to model network storage.
//   fsops DIR {pool|uring} {stat|open|mkdir} COUNT DEPTH
// Prints: method call count seconds calls/s cpu_seconds. FSOPS_IOWQ_DEFAULT=1 leaves io-wq's worker
// limit as the kernel sets it (else it is raised to DEPTH).
#include <liburing.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

enum class Call { stat, open, mkdir };
constexpr int kFiles = 100;

std::string name_of(Call call, long i) {
    return call == Call::mkdir ? "d" + std::to_string(i) : "f" + std::to_string(i % kFiles);
}

// The blocking form, as a pool thread runs it. Returns 0 or -errno.
int run_blocking(int dir, Call call, const std::string& name) {
    switch (call) {
        case Call::stat: {
            struct statx st {};
            return ::statx(dir, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) == 0 ? 0 : -errno;
        }
        case Call::open: {
            const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) return -errno;
            ::close(fd);
            return 0;
        }
        case Call::mkdir:
            if (::mkdirat(dir, name.c_str(), 0750) != 0) return -errno;
            return ::unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0 ? 0 : -errno;
    }
    return -EINVAL;
}

// A pool of `threads` and a completion queue read by the calling thread after an eventfd wakeup.
long run_pool(int dir, Call call, long count, int depth) {
    std::mutex mutex;
    std::condition_variable work_ready;
    std::deque<long> jobs;
    std::mutex done_mutex;
    std::vector<int> done;
    const int wake = ::eventfd(0, EFD_CLOEXEC);
    bool stop = false;
    std::vector<std::thread> threads;
    for (int t = 0; t < depth; ++t)
        threads.emplace_back([&] {
            for (;;) {
                long job;
                {
                    std::unique_lock lock(mutex);
                    work_ready.wait(lock, [&] { return stop || !jobs.empty(); });
                    if (jobs.empty()) return;
                    job = jobs.front();
                    jobs.pop_front();
                }
                const int result = run_blocking(dir, call, name_of(call, job));
                {
                    const std::lock_guard lock(done_mutex);
                    done.push_back(result);
                }
                const std::uint64_t one = 1;
                (void)!::write(wake, &one, sizeof one);
            }
        });
    long submitted = 0, completed = 0, failed = 0;
    auto submit = [&] {
        {
            const std::lock_guard lock(mutex);
            jobs.push_back(submitted++);
        }
        work_ready.notify_one();
    };
    while (submitted < count && submitted < depth) submit();
    while (completed < count) {
        std::uint64_t n;
        (void)!::read(wake, &n, sizeof n);
        std::vector<int> batch;
        {
            const std::lock_guard lock(done_mutex);
            batch.swap(done);
        }
        for (int result : batch) {
            ++completed;
            failed += result != 0;
            if (submitted < count) submit();
        }
    }
    {
        const std::lock_guard lock(mutex);
        stop = true;
    }
    work_ready.notify_all();
    for (auto& t : threads) t.join();
    ::close(wake);
    return failed;
}

// io_uring: `depth` calls in flight; an open is followed by its close, a mkdir by its unlink (the
// second half of a call is submitted when the first completes, as a server would).
long run_uring(int dir, Call call, long count, int depth) {
    io_uring ring;
    if (int err = io_uring_queue_init(static_cast<unsigned>(depth) * 2, &ring, 0); err < 0) {
        std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-err));
        std::exit(1);
    }
    // io-wq, which runs the calls that would block, has min(entries, 4 x CPUs) workers for them by
    // default: fewer than `depth` on a small machine. As many as calls in flight, like the pool.
    unsigned workers[2] = {static_cast<unsigned>(depth), 0};
    if (std::getenv("FSOPS_IOWQ_DEFAULT") == nullptr) io_uring_register_iowq_max_workers(&ring, workers);
    std::vector<std::string> names(static_cast<std::size_t>(count));
    std::vector<struct statx> stats(static_cast<std::size_t>(depth));
    long submitted = 0, completed = 0, failed = 0;
    // user_data: index * 2 + second half
    auto first_half = [&](long i) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        names[static_cast<std::size_t>(i)] = name_of(call, i);
        const char* name = names[static_cast<std::size_t>(i)].c_str();
        switch (call) {
            case Call::stat:
                io_uring_prep_statx(sqe, dir, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stats[static_cast<std::size_t>(i % depth)]);
                break;
            case Call::open: io_uring_prep_openat(sqe, dir, name, O_RDONLY | O_CLOEXEC, 0); break;
            case Call::mkdir: io_uring_prep_mkdirat(sqe, dir, name, 0750); break;
        }
        io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(i) * 2);
    };
    while (submitted < count && submitted < depth) first_half(submitted++);
    io_uring_submit(&ring);
    while (completed < count) {
        io_uring_cqe* cqe = nullptr;
        io_uring_wait_cqe(&ring, &cqe);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            const std::uint64_t data = io_uring_cqe_get_data64(cqe);
            const long i = static_cast<long>(data / 2);
            const bool second = data % 2;
            const int res = cqe->res;
            if (!second && call != Call::stat && res >= 0) {
                io_uring_sqe* sqe = io_uring_get_sqe(&ring);
                if (call == Call::open) io_uring_prep_close(sqe, res);
                else io_uring_prep_unlinkat(sqe, dir, names[static_cast<std::size_t>(i)].c_str(), AT_REMOVEDIR);
                io_uring_sqe_set_data64(sqe, data + 1);
                continue;
            }
            ++completed;
            failed += res < 0;
            if (submitted < count) first_half(submitted++);
        }
        io_uring_cq_advance(&ring, seen);
        io_uring_submit(&ring);
    }
    io_uring_queue_exit(&ring);
    return failed;
}

double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return s(usage.ru_utime) + s(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: fsops DIR {pool|uring} {stat|open|mkdir} COUNT DEPTH\n");
        return 2;
    }
    const int dir = ::open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return std::perror(argv[1]), 1;
    const std::string method = argv[2], what = argv[3];
    const Call call = what == "stat" ? Call::stat : what == "open" ? Call::open : Call::mkdir;
    const long count = std::atol(argv[4]);
    const int depth = std::atoi(argv[5]);
    for (int i = 0; i < kFiles; ++i) {  // the files stat'ed and opened
        const std::string name = "f" + std::to_string(i);
        const int fd = ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) ::close(fd);
    }
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    const long failed = method == "uring" ? run_uring(dir, call, count, depth) : run_pool(dir, call, count, depth);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s %s %ld %.3f %.0f %.3f%s\n", method.c_str(), what.c_str(), count, seconds,
                static_cast<double>(count) / seconds, cpu_seconds() - cpu_start, failed ? " (some failed)" : "");
    return failed ? 1 : 0;
}
