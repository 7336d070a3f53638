// Which threads run a reactor, so that a checked run can prove that no file-system call is made on
// one: on NFS or CephFS a single stat takes milliseconds, and every session of that reactor waits.
// Reactor::run marks its thread; src/fs and the file calls of src/sys call off_reactor() first.
// The data path of a file already open (sendfile, reads the page cache answers without waiting,
// writes of received data into the page cache) has entry points of its own that do not check.
#pragma once

namespace ferry::sys {

// Marks the calling thread as a reactor's for the lifetime of the object.
class ReactorThreadMark {
public:
    ReactorThreadMark();
    ~ReactorThreadMark();
    ReactorThreadMark(const ReactorThreadMark&) = delete;
    ReactorThreadMark& operator=(const ReactorThreadMark&) = delete;

private:
    bool was_ = false;
};

bool on_reactor_thread();

// A file-system call named `call` is about to be made. In a checked run (FERRY_CHECK_REACTOR=1 in
// the environment; `make test` sets it) on a reactor thread it writes `call` to standard error and
// aborts; otherwise it does nothing.
void off_reactor(const char* call);

}  // namespace ferry::sys
