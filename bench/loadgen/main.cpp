// ferry-loadgen: the benchmark's FTP load generator. One process per workload run; the harness
// (bench/run) parses its "RESULT key=value ..." lines.
//   ferry-loadgen download|tls-download|upload|ceiling|idle|smallfiles|storm|mixed --port P --user U --password W ...
#include "workloads.hpp"

#include <csignal>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <string>

namespace {

using Workload = int (*)(const bench::Options&);

const std::map<std::string, Workload>& workloads() {
    static const std::map<std::string, Workload> table{
        {"download", bench::run_download},     {"upload", bench::run_upload}, {"parallel", bench::run_parallel}, {"ceiling", bench::run_ceiling},
        {"tls-download", bench::run_tls_download},
        {"idle", bench::run_idle},             {"smallfiles", bench::run_smallfiles},
        {"storm", bench::run_storm},        {"mixed", bench::run_mixed},
    };
    return table;
}

int usage() {
    std::cerr << "usage: ferry-loadgen WORKLOAD [--host H] [--port P] [--user U] [--password W] [options]\n"
                 "workloads: download tls-download upload parallel ceiling idle smallfiles storm mixed (see bench/README.md)\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    auto it = workloads().find(argv[1]);
    if (it == workloads().end()) return usage();
    std::signal(SIGPIPE, SIG_IGN);
    try {
        bench::Options options(argc, argv, 2);
        return it->second(options);
    } catch (const std::exception& e) {
        bench::ResultLine().add("error", std::string(e.what())).print();
        return 1;
    }
}
