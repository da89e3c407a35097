// Linked into the test executables of the tsan preset only.
//
// librdkafka uses C11's threads, mutexes and condition variables. The
// ThreadSanitizer runtime of GCC 12 intercepts the pthread functions but not
// their C11 counterparts, so a thread started with thrd_create has no
// sanitizer state and crashes at its first malloc, and every lock librdkafka
// takes is invisible to it (each access under one would be reported as a
// race). These definitions take the place of glibc's for the shared libraries
// of the executable and forward to the pthread functions, which glibc's own
// C11 functions wrap too: mtx_t, cnd_t, once_flag and thrd_t have the layout
// of their pthread counterparts, and a C11 thread's int result travels in the
// void* of pthread_exit.
#include <threads.h>

#include <pthread.h>
#include <cerrno>
#include <cstdint>
#include <new>

namespace {

struct Start {
    thrd_start_t function;
    void* argument;
};

void* run(void* start) {
    const Start copy = *static_cast<Start*>(start);
    delete static_cast<Start*>(start);
    return reinterpret_cast<void*>(static_cast<std::intptr_t>(copy.function(copy.argument)));
}

int result(int error) {
    if (error == 0) return thrd_success;
    if (error == ETIMEDOUT) return thrd_timedout;
    if (error == EBUSY) return thrd_busy;
    return error == ENOMEM || error == EAGAIN ? thrd_nomem : thrd_error;
}

pthread_mutex_t* native(mtx_t* mutex) {
    return reinterpret_cast<pthread_mutex_t*>(mutex);
}
pthread_cond_t* native(cnd_t* condition) {
    return reinterpret_cast<pthread_cond_t*>(condition);
}

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(once_flag) == sizeof(pthread_once_t));
static_assert(sizeof(thrd_t) == sizeof(pthread_t));

}  // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
    auto* start = new (std::nothrow) Start{function, argument};
    if (start == nullptr) return thrd_nomem;
    const int failed = pthread_create(thread, nullptr, run, start);
    if (failed != 0) delete start;
    return result(failed);
}

int thrd_join(thrd_t thread, int* code) {
    void* value = nullptr;
    const int failed = pthread_join(thread, &value);
    if (failed == 0 && code != nullptr) *code = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
    return result(failed);
}

int mtx_init(mtx_t* mutex, int type) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    const int failed = pthread_mutex_init(native(mutex), &attributes);
    pthread_mutexattr_destroy(&attributes);
    return result(failed);
}

int mtx_lock(mtx_t* mutex) {
    return result(pthread_mutex_lock(native(mutex)));
}

int mtx_unlock(mtx_t* mutex) {
    return result(pthread_mutex_unlock(native(mutex)));
}

void mtx_destroy(mtx_t* mutex) {
    pthread_mutex_destroy(native(mutex));
}

int cnd_init(cnd_t* condition) {
    return result(pthread_cond_init(native(condition), nullptr));
}

int cnd_signal(cnd_t* condition) {
    return result(pthread_cond_signal(native(condition)));
}

int cnd_broadcast(cnd_t* condition) {
    return result(pthread_cond_broadcast(native(condition)));
}

int cnd_wait(cnd_t* condition, mtx_t* mutex) {
    return result(pthread_cond_wait(native(condition), native(mutex)));
}

int cnd_timedwait(cnd_t* condition, mtx_t* mutex, const struct timespec* until) {
    return result(pthread_cond_timedwait(native(condition), native(mutex), until));
}

void cnd_destroy(cnd_t* condition) {
    pthread_cond_destroy(native(condition));
}

void call_once(once_flag* flag, void (*function)()) {
    pthread_once(reinterpret_cast<pthread_once_t*>(flag), function);
}

}  // extern "C"
