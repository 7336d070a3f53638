#include "app/hook_runner.hpp"

#include "base/log.hpp"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ferry::app {
namespace {

constexpr std::size_t max_message = 256 * 1024;  // argv, environment and the event's JSON
constexpr std::size_t max_line = 2048;           // of stderr, kept for the log

// ---- the messages: fixed-size numbers, then strings as [u32 length][bytes] ----
void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_string(std::string& out, std::string_view s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(s);
}
void put_strings(std::string& out, const std::vector<std::string>& list) {
    put_u64(out, list.size());
    for (const auto& s : list) put_string(out, s);
}

struct Reader {
    std::string_view data;
    bool ok = true;
    std::uint64_t u64() {
        std::uint64_t v = 0;
        if (data.size() < sizeof v) return ok = false, 0;
        std::memcpy(&v, data.data(), sizeof v);
        data.remove_prefix(sizeof v);
        return v;
    }
    std::string string() {
        std::uint32_t n = 0;
        if (data.size() < sizeof n) return ok = false, std::string();
        std::memcpy(&n, data.data(), sizeof n);
        data.remove_prefix(sizeof n);
        if (data.size() < n) return ok = false, std::string();
        std::string s(data.substr(0, n));
        data.remove_prefix(n);
        return s;
    }
    std::vector<std::string> strings() {
        const std::uint64_t count = u64();
        std::vector<std::string> list;
        for (std::uint64_t i = 0; ok && i < count && i < 4096; ++i) list.push_back(string());
        return list;
    }
};

std::vector<char*> c_strings(std::vector<std::string>& list) {
    std::vector<char*> out;
    for (auto& s : list) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// ---- in the helper's watcher process: one program, start to end ----
[[noreturn]] void exec_program(std::vector<std::string> argv, std::vector<std::string> env, int in, int err) {
    ::setpgid(0, 0);  // its own group: the timeout kills what it started too
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(in, 0);
    ::dup2(null, 1);
    ::dup2(err, 2);
    ::close_range(3, ~0U, 0);
    ::signal(SIGPIPE, SIG_DFL);
    auto args = c_strings(argv);
    auto vars = c_strings(env);
    ::execve(args[0], args.data(), vars.data());
    const std::string why = cat("cannot run ", argv[0], ": ", std::strerror(errno), "\n");
    (void)!::write(2, why.data(), why.size());
    ::_exit(127);
}

HookRunOutcome watch(std::vector<std::string> argv, std::vector<std::string> env, const std::string& input,
                     std::chrono::seconds timeout) {
    HookRunOutcome outcome;
    int in[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return outcome.last_line = "pipe failed", outcome;
    const pid_t pid = ::fork();
    if (pid < 0) return outcome.last_line = cat("fork failed: ", std::strerror(errno)), outcome;
    if (pid == 0) exec_program(std::move(argv), std::move(env), in[0], err[1]);
    ::close(in[0]);
    ::close(err[1]);
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);  // a program that does not read its stdin must not hold us
    (void)!::write(in[1], input.data(), input.size());
    ::close(in[1]);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string tail;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            outcome.timed_out = true;
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd p{err[0], POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char block[4096];
        const ssize_t n = ::read(err[0], block, sizeof block);
        if (n <= 0) break;  // its stderr closed: it is ending
        tail.append(block, static_cast<std::size_t>(n));
        if (tail.size() > 2 * max_line) tail.erase(0, tail.size() - max_line);
    }
    ::close(err[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!outcome.timed_out && WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    outcome.last_line = tail.substr(tail.rfind('\n') == std::string::npos ? 0 : tail.rfind('\n') + 1);
    if (outcome.last_line.size() > max_line) outcome.last_line.resize(max_line);
    return outcome;
}

// ---- the helper process: a watcher per request, until the daemon closes the socket ----
[[noreturn]] void helper_main(int sock, const std::optional<RunAs>& run_as) {
    if (run_as) {
        std::string error;
        if (!drop_privileges(*run_as, &error)) {
            std::fprintf(stderr, "ferryd hook helper: %s\n", error.c_str());
            ::_exit(1);
        }
    }
    ::signal(SIGCHLD, SIG_IGN);  // the watchers are reaped by the kernel
    ::signal(SIGINT, SIG_IGN);   // the daemon decides when to stop; the helper follows its socket
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    std::string buffer(max_message, '\0');
    for (;;) {
        const ssize_t n = ::recv(sock, buffer.data(), buffer.size(), 0);
        if (n == 0) ::_exit(0);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::_exit(1);
        }
        Reader reader{std::string_view(buffer.data(), static_cast<std::size_t>(n))};
        const std::uint64_t id = reader.u64();
        const auto timeout = std::chrono::seconds(reader.u64());
        auto argv = reader.strings();
        auto env = reader.strings();
        const std::string input = reader.string();
        if (!reader.ok || argv.empty()) continue;
        if (::fork() != 0) continue;
        ::signal(SIGCHLD, SIG_DFL);  // the watcher waits for its program itself
        const HookRunOutcome outcome = watch(std::move(argv), std::move(env), input, timeout);
        std::string reply;
        put_u64(reply, id);
        put_u64(reply, static_cast<std::uint64_t>(static_cast<std::int64_t>(outcome.exit_code)));
        put_u64(reply, outcome.timed_out ? 1 : 0);
        put_string(reply, outcome.last_line);
        (void)!::send(sock, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::_exit(0);
    }
}

class HelperRunner final : public HookRunner {
public:
    explicit HelperRunner(int sock) : sock_(sock), reader_([this] { read_replies(); }) {}
    ~HelperRunner() override {
        ::shutdown(sock_, SHUT_RDWR);  // the helper sees the end and exits; our reader too
        reader_.join();
        ::close(sock_);
    }

    HookRunOutcome run(const HookRun& run) override {
        std::string request;
        std::unique_lock lock(mutex_);
        const std::uint64_t id = ++next_id_;
        lock.unlock();
        put_u64(request, id);
        put_u64(request, static_cast<std::uint64_t>(run.timeout.count()));
        put_strings(request, run.argv);
        put_strings(request, run.env);
        put_string(request, run.input);
        if (request.size() > max_message) return HookRunOutcome{-1, false, "the event is too large to hand to a program"};
        if (::send(sock_, request.data(), request.size(), MSG_NOSIGNAL) < 0)
            return HookRunOutcome{-1, false, cat("the hook helper is gone: ", std::strerror(errno))};
        lock.lock();
        // The watcher kills the program at its timeout; the extra margin covers a helper that died.
        const bool answered = done_.wait_for(lock, run.timeout + std::chrono::seconds(10), [&] { return results_.count(id) || closed_; });
        if (!answered || !results_.count(id)) return HookRunOutcome{-1, true, "no answer from the hook helper"};
        HookRunOutcome outcome = std::move(results_[id]);
        results_.erase(id);
        return outcome;
    }

private:
    void read_replies() {
        std::string buffer(max_line + 64, '\0');
        for (;;) {
            const ssize_t n = ::recv(sock_, buffer.data(), buffer.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            Reader reader{std::string_view(buffer.data(), static_cast<std::size_t>(n))};
            const std::uint64_t id = reader.u64();
            HookRunOutcome outcome;
            outcome.exit_code = static_cast<int>(static_cast<std::int64_t>(reader.u64()));
            outcome.timed_out = reader.u64() != 0;
            outcome.last_line = reader.string();
            if (!reader.ok) continue;
            std::lock_guard lock(mutex_);
            results_[id] = std::move(outcome);
            done_.notify_all();
        }
        std::lock_guard lock(mutex_);
        closed_ = true;
        done_.notify_all();
    }

    int sock_;
    std::mutex mutex_;
    std::condition_variable done_;
    std::map<std::uint64_t, HookRunOutcome> results_;
    std::uint64_t next_id_ = 0;
    bool closed_ = false;
    std::thread reader_;
};

}  // namespace

std::unique_ptr<HookRunner> HookRunner::start(const std::optional<RunAs>& run_as, std::string* error) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        *error = cat("hooks: socketpair: ", std::strerror(errno));
        return nullptr;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        *error = cat("hooks: cannot fork the helper: ", std::strerror(errno));
        return nullptr;
    }
    if (pid == 0) {
        ::close(pair[0]);
        helper_main(pair[1], run_as);
    }
    ::close(pair[1]);
    return std::make_unique<HelperRunner>(pair[0]);
}

}  // namespace ferry::app
