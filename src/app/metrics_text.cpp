#include "app/metrics_text.hpp"

#include "base/log.hpp"
#include "base/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace ferry::app {
namespace {

std::string number(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += cat("# HELP ", name, ' ', help, "\n# TYPE ", name, ' ', type, '\n');
}

void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t value) {
    header(out, name, "counter", help);
    out += cat(name, ' ', value, '\n');
}

void gauge(std::string& out, std::string_view name, std::string_view help, double value) {
    header(out, name, "gauge", help);
    out += cat(name, ' ', number(value), '\n');
}

void histogram(std::string& out, std::string_view name, std::string_view help, const metrics::Histogram& source) {
    header(out, name, "histogram", help);
    const auto snap = source.snapshot();
    for (std::size_t i = 0; i < metrics::Histogram::bounds.size(); ++i)
        out += cat(name, "_bucket{le=\"", number(metrics::Histogram::bounds[i]), "\"} ", snap.cumulative[i], '\n');
    out += cat(name, "_bucket{le=\"+Inf\"} ", snap.count, '\n', name, "_sum ", number(snap.sum_seconds), '\n', name,
               "_count ", snap.count, '\n');
}

void quota_uses(std::string& out, std::string_view what, std::string_view label,
                const std::vector<fs::QuotaRegistry::Use>& uses) {
    const std::string used = cat("ferry_", what, "_quota_used_bytes"), limit = cat("ferry_", what, "_quota_limit_bytes");
    header(out, used, "gauge", cat("Bytes used, for the ", what, "s using the most (metrics_top_accounts)."));
    for (const auto& use : uses) out += cat(used, '{', label, "=\"", label_value(use.name), "\"} ", use.used, '\n');
    header(out, limit, "gauge", cat("Quota of the same ", what, "s, in bytes."));
    for (const auto& use : uses) out += cat(limit, '{', label, "=\"", label_value(use.name), "\"} ", use.limit, '\n');
}

}  // namespace

std::string label_value(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string metrics_text(const ScrapeInputs& in) {
    const metrics::Registry& m = metrics::registry();
    std::string out;
    const auto open = static_cast<std::size_t>(std::max<std::int64_t>(0, m.sessions.load()));
    const std::size_t logging_in = std::min(open, in.awaiting_login);
    header(out, "ferry_sessions", "gauge", "Control connections open now, by state.");
    out += cat("ferry_sessions{state=\"login\"} ", logging_in, "\nferry_sessions{state=\"logged_in\"} ", open - logging_in, '\n');
    counter(out, "ferry_sessions_opened_total", "Control connections accepted.", m.sessions_opened.get());
    header(out, "ferry_logins_total", "counter", "Logins by result.");
    out += cat("ferry_logins_total{result=\"ok\"} ", m.logins_ok.get(), "\nferry_logins_total{result=\"failed\"} ",
               m.logins_failed.get(), '\n');
    counter(out, "ferry_logins_cached_total", "Of the logins ok, those whose password was verified lately (no argon2id).",
            m.logins_cached.get());
    counter(out, "ferry_bans_total", "Client addresses banned by the defender.", m.bans.get());
    counter(out, "ferry_defender_failures_total", "Failed logins the defender counted.", m.defender_failures.get());
    counter(out, "ferry_defender_accounts_locked_total", "Accounts locked by the defender.", m.accounts_locked.get());
    header(out, "ferry_tls_handshakes_total", "counter", "TLS handshakes done, by connection.");
    out += cat("ferry_tls_handshakes_total{connection=\"control\"} ", m.tls_control_handshakes.get(), '\n',
               "ferry_tls_handshakes_total{connection=\"data\"} ", m.tls_data_handshakes.get(), '\n');
    counter(out, "ferry_tls_data_resumed_total", "Data connections that resumed the control connection's TLS session.",
            m.tls_data_resumed.get());
    header(out, "ferry_refusals_total", "counter", "Replies 4xx and 5xx sent, by code.");
    for (std::size_t i = 0; i < m.refusals.size(); ++i)
        if (const auto n = m.refusals[i].get()) out += cat("ferry_refusals_total{code=\"", 400 + i, "\"} ", n, '\n');
    header(out, "ferry_transfers_total", "counter", "Uploads and downloads that ended, by direction and result.");
    out += cat("ferry_transfers_total{direction=\"upload\",result=\"complete\"} ", m.uploads_complete.get(), '\n',
               "ferry_transfers_total{direction=\"upload\",result=\"failed\"} ", m.uploads_failed.get(), '\n',
               "ferry_transfers_total{direction=\"download\",result=\"complete\"} ", m.downloads_complete.get(), '\n',
               "ferry_transfers_total{direction=\"download\",result=\"failed\"} ", m.downloads_failed.get(), '\n');
    header(out, "ferry_transfer_bytes_total", "counter", "Bytes of file data moved, by direction.");
    out += cat("ferry_transfer_bytes_total{direction=\"upload\"} ", m.bytes_received.get(), '\n',
               "ferry_transfer_bytes_total{direction=\"download\"} ", m.bytes_sent.get(), '\n');
    counter(out, "ferry_quota_refusals_total", "Uploads stopped by a quota (552).", m.quota_refusals.get());
    counter(out, "ferry_hook_events_dropped_total", "Hook events dropped because the queue was full (hook_queue).",
            m.hook_events_dropped.get());
    counter(out, "ferry_hook_failures_total", "Hook runs that failed, timed out or got no 2xx.", m.hook_failures.get());
    header(out, "ferry_pool_queued_jobs", "gauge", "Jobs waiting for a pool thread.");
    out += cat("ferry_pool_queued_jobs{pool=\"cpu\"} ", in.cpu_pool_queued, "\nferry_pool_queued_jobs{pool=\"io\"} ",
               in.io_pool_queued, '\n');
    histogram(out, "ferry_cpu_pool_wait_seconds", "Time a job waited for a CPU pool thread (argon2id, digests).", m.cpu_pool_wait);
    histogram(out, "ferry_io_pool_wait_seconds", "Time a file-system request waited for an I/O pool thread.", m.io_pool_wait);
    histogram(out, "ferry_reactor_turn_seconds", "Work of one reactor turn: how long other sessions of it waited.",
              m.reactor_turn);
    quota_uses(out, "account", "account", in.accounts);
    quota_uses(out, "folder", "folder", in.folders);
    if (in.process) {
        header(out, "process_cpu_seconds_total", "counter", "User and system CPU time.");
        out += cat("process_cpu_seconds_total ", number(in.process->cpu_seconds), '\n');
        gauge(out, "process_resident_memory_bytes", "Resident memory.", static_cast<double>(in.process->resident_bytes));
        gauge(out, "process_open_fds", "Open file descriptors.", static_cast<double>(in.process->open_fds));
        gauge(out, "process_start_time_seconds", "Start time since 1970.", in.process->start_time_seconds);
    }
    return out;
}

}  // namespace ferry::app
