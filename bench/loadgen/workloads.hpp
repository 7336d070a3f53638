// The load generator's workloads; each prints RESULT lines (see common.hpp) and returns an exit code.
#pragma once
#include "common.hpp"

namespace bench {

int run_download(const Options& options);    // one large RETR over one connection
int run_tls_download(const Options& options);  // the same over FTPS (PROT P, resumed session)
int run_upload(const Options& options);      // one large STOR from a memory buffer
int run_parallel(const Options& options);    // many RETRs of one file at once, one thread each
int run_ceiling(const Options& options);     // bare sendfile of a file over loopback
int run_idle(const Options& options);        // N sessions logged in and idle, ramped in steps
int run_smallfiles(const Options& options);  // many clients fetching small files in a loop
int run_storm(const Options& options);       // login storm plus one NOOP-probing session
int run_mixed(const Options& options);       // CWD/LIST/SIZE/RETR/STOR/DELE loops plus a NOOP probe

}  // namespace bench
