/*
 * indexer sink plugin ABI — the only contract between the indexer and a sink.
 *
 * A sink is a shared object loaded with dlopen(RTLD_NOW | RTLD_LOCAL). It
 * exports two C symbols:
 *
 *   const indexer_sink_info *indexer_sink_magic(void);
 *       Checked before anything else runs. Its name never changes, so that a
 *       loader of any version can read which ABI a plugin was built for and
 *       say so when it cannot load it.
 *
 *   int indexer_sink_init_v1(const indexer_host_api *host,
 *                            indexer_sink_functions *functions);
 *       The entry point; its name carries the ABI major version. Called once
 *       per loaded library after the magic matched. Fills `functions`.
 *
 * Compatibility rules:
 *   - A different ABI major is refused.
 *   - A plugin built for a newer minor than the host is refused (it may rely
 *     on host behaviour the host does not have). An older minor is accepted.
 *   - Structures that start with `struct_size` are append-only: new fields go
 *     at the end, and a reader treats a field beyond `struct_size` as absent.
 *   - The layouts of indexer_sink_op and indexer_sink_result are frozen within
 *     a major version (they are passed as arrays).
 *   - A plugin built for an older minor fills a shorter indexer_sink_functions
 *     (a smaller struct_size): it keeps loading, and the functions it lacks
 *     are absent. A 1.0 plugin has no write_with_control, so its writes have
 *     no deadline and cannot be interrupted; a 1.0 or 1.1 plugin has no read
 *     and list, so nothing can be verified against it; a plugin older than
 *     1.3 has no create_target and switch_target, so nothing can be reindexed
 *     behind it.
 *
 * No C++ exception, longjmp or ownership crosses this boundary. Errors are
 * data: statuses, result codes and messages.
 *
 * The C++ convenience layer over this header is <indexer/sink.hpp>.
 */
#ifndef INDEXER_SINK_PLUGIN_H
#define INDEXER_SINK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INDEXER_SINK_ABI_MAJOR 1
/* Minor versions:
 *   1.0  open, write, close, flush, health.
 *   1.1  write_with_control: a write with a deadline and a "stop now" token;
 *        the durability contract of write and flush spelled out below.
 *   1.2  read and list: what the sink holds, read back by id and listed page
 *        by page (for `indexer verify`); indexer_plugin_str for bytes the
 *        plugin lends the host.
 *   1.3  create_target and switch_target: a new physical index behind the
 *        sink's name, filled and then swapped in (for `indexer reindex`). */
#define INDEXER_SINK_ABI_MINOR 3

#define INDEXER_SINK_MAGIC_SYMBOL "indexer_sink_magic"
#define INDEXER_SINK_INIT_SYMBOL "indexer_sink_init_v1"

#if defined(_WIN32)
#define INDEXER_SINK_EXPORT __declspec(dllexport)
#else
#define INDEXER_SINK_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* Identification                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Returned by indexer_sink_magic(). Static storage in the plugin: valid for as
 * long as the library is loaded. Strings are NUL-terminated UTF-8.
 * struct_size, abi_major and abi_minor keep these offsets in every major
 * version, so that any loader can say which ABI a plugin was built for.
 */
typedef struct indexer_sink_info {
    uint32_t struct_size;       /* sizeof(indexer_sink_info) as the plugin saw it */
    uint16_t abi_major;         /* INDEXER_SINK_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;         /* INDEXER_SINK_ABI_MINOR the plugin was built with */
    const char* plugin_name;    /* e.g. "elasticsearch"; [a-z0-9_-]+ */
    const char* plugin_version; /* the plugin's own version, e.g. "1.2.0" */
} indexer_sink_info;

typedef const indexer_sink_info* (*indexer_sink_magic_fn)(void);

/* ------------------------------------------------------------------------ */
/* What the host offers the plugin                                          */
/* ------------------------------------------------------------------------ */

typedef enum indexer_log_level {
    INDEXER_LOG_DEBUG = 0,
    INDEXER_LOG_INFO = 1,
    INDEXER_LOG_WARN = 2,
    INDEXER_LOG_ERROR = 3
} indexer_log_level;

/*
 * Owned by the host, valid from init until the library is unloaded. The
 * functions may be called from any thread.
 */
typedef struct indexer_host_api {
    uint32_t struct_size;
    uint16_t abi_major; /* the host's ABI version */
    uint16_t abi_minor;
    /* Opaque; pass it back unchanged. */
    void* host_data;
    /* Writes one log line, tagged by the host with the plugin's name. The host
     * copies `message` (NUL-terminated) before returning. Never log secrets. */
    void (*log)(void* host_data, indexer_log_level level, const char* message);
} indexer_host_api;

/* ------------------------------------------------------------------------ */
/* Operations and their results                                             */
/* ------------------------------------------------------------------------ */

/* A byte string that is not NUL-terminated, lent by the host to the plugin
 * for the duration of one call (a plugin that needs it later copies it). */
typedef struct indexer_str {
    const char* data; /* may be NULL when size is 0 */
    size_t size;
} indexer_str;

/* A byte string that is not NUL-terminated, lent by the plugin to the host
 * (ABI 1.2): the bytes stay valid until the next call on the same handle,
 * like result messages. A distinct type from indexer_str so that the
 * compiler keeps the two directions apart. */
typedef struct indexer_plugin_str {
    const char* data; /* may be NULL when size is 0 */
    size_t size;
} indexer_plugin_str;

typedef enum indexer_sink_op_kind {
    INDEXER_SINK_UPSERT = 1, /* write `document` under `id` */
    INDEXER_SINK_DELETE = 2  /* remove `id`; deleting what is absent is OK */
} indexer_sink_op_kind;

/*
 * One operation. The host owns every byte of it (and the array) for the
 * duration of the write call only: a plugin that needs the data later copies it.
 */
typedef struct indexer_sink_op {
    uint32_t kind;        /* indexer_sink_op_kind */
    uint32_t reserved;    /* zero */
    indexer_str id;       /* the row's id as text (integer, UUID or text key) */
    indexer_str document; /* JSON object, UPSERT only; empty for DELETE */
    uint64_t version;     /* monotonic version of the row; 0 = none */
    indexer_str target;   /* index/collection override; empty = the sink's default */
} indexer_sink_op;

typedef enum indexer_sink_status {
    INDEXER_SINK_UNSET = 0,    /* the host sets this before a call; a plugin must overwrite it */
    INDEXER_SINK_OK = 1,       /* written (or already newer / already absent); read: found */
    INDEXER_SINK_RETRY = 2,    /* transient failure: the host writes the op again later */
    INDEXER_SINK_REJECT = 3,   /* permanent failure: the host dead-letters the op */
    INDEXER_SINK_NOT_FOUND = 4 /* ABI 1.2, read results only: the sink holds nothing under the id */
} indexer_sink_status;

/*
 * One result per op, at the same index. The host allocates the array and sets
 * every entry to {INDEXER_SINK_UNSET, 0, NULL} before calling write.
 * `message` is NUL-terminated, owned by the plugin, and stays valid until the
 * next call on the same handle (write, flush, health, read, list,
 * create_target, switch_target or close).
 */
typedef struct indexer_sink_result {
    uint32_t status;     /* indexer_sink_status */
    int32_t native_code; /* HTTP status, memcached return code...; 0 = none */
    const char* message; /* why, for RETRY and REJECT; may be NULL for OK */
} indexer_sink_result;

/* ------------------------------------------------------------------------ */
/* How long a write may take (ABI 1.1)                                      */
/* ------------------------------------------------------------------------ */

/* indexer_sink_write_control.deadline_ms when the write has no deadline. */
#define INDEXER_SINK_NO_DEADLINE INT64_MAX

/*
 * Given to write_with_control. Owned by the host, valid for the duration of
 * the call only. Append-only: a plugin reads a field only when struct_size
 * covers it.
 *
 * The deadline is an absolute instant on CLOCK_MONOTONIC, in milliseconds
 * (clock_gettime(CLOCK_MONOTONIC) seconds * 1000 + nanoseconds / 1000000),
 * rather than a remaining budget: a plugin passes the same instant to every
 * wait of the call (connect, send, each poll) without subtracting the time
 * spent so far, and time lost between the host computing it and the plugin
 * reading it is not silently added. CLOCK_MONOTONIC is what C's
 * clock_gettime, C++'s steady_clock, Rust's Instant and Go's
 * unix.ClockGettime read on Linux; it does not jump with the wall clock.
 *
 * By the deadline, or as soon as stop_requested answers non-zero, the plugin
 * returns: it starts no new I/O, abandons what is in flight, and sets every op
 * whose outcome it does not know yet to INDEXER_SINK_RETRY with a message
 * saying why ("deadline passed", "stop requested"). An op the backend already
 * acknowledged keeps its OK. A plugin checks stop_requested at least every
 * 50 ms while it waits, so that the host gets control back within about
 * 100 ms of asking.
 */
typedef struct indexer_sink_write_control {
    uint32_t struct_size; /* sizeof(indexer_sink_write_control) as the host saw it */
    uint32_t reserved;    /* zero */
    /* CLOCK_MONOTONIC milliseconds by which write_with_control returns;
     * INDEXER_SINK_NO_DEADLINE for none. May already have passed: then the
     * plugin answers every op RETRY without I/O. */
    int64_t deadline_ms;
    /* Non-zero once the host wants the call to return as soon as possible
     * (shutdown, partition revoked). May be NULL (never stops). Cheap,
     * non-blocking, callable from any thread of the plugin during the call,
     * any number of times; pass it `stop_token`. */
    int (*stop_requested)(const void* stop_token);
    const void* stop_token;
} indexer_sink_write_control;

/* ------------------------------------------------------------------------ */
/* Reading back what the sink holds (ABI 1.2)                               */
/* ------------------------------------------------------------------------ */

/*
 * `indexer verify` compares the whole source with the whole sink in two
 * passes with bounded memory: it reads back, by id, the rows it streams from
 * the source (missing and stale documents), then lists every id the sink
 * holds, page by page, and looks each page up in the source (extra
 * documents). `read` and `list` serve those passes. Both are optional; both
 * take an indexer_sink_write_control (never NULL) and honour its deadline and
 * stop exactly as write_with_control does.
 */

/*
 * What to read. Owned by the host, valid for the duration of the call only.
 * Append-only: a plugin reads a field only when struct_size covers it.
 */
typedef struct indexer_sink_read_request {
    uint32_t struct_size;   /* sizeof(indexer_sink_read_request) as the host saw it */
    uint32_t reserved;      /* zero */
    const indexer_str* ids; /* `count` ids (may hold duplicates); NULL when count is 0 */
    size_t count;
    indexer_str target; /* index/collection override, as in indexer_sink_op; empty = the sink's default */
} indexer_sink_read_request;

/*
 * One result per requested id, at the same index. The host allocates the
 * array and zeroes every entry (status INDEXER_SINK_UNSET) before the call.
 * Its layout is frozen within a major version (it is passed as an array).
 *
 *   status       INDEXER_SINK_OK: found; `document` and `version` are set.
 *                INDEXER_SINK_NOT_FOUND: the sink holds nothing under the id
 *                (also when the index or collection itself does not exist).
 *                INDEXER_SINK_RETRY: not known now (server unreachable,
 *                deadline, stop); `message` says why.
 *                INDEXER_SINK_REJECT: the id can never be read from this sink
 *                (e.g. an id the sink could never have written); `message`
 *                says why. The plugin answers it without I/O when it can.
 *   document     the stored document as the backend returns it (JSON for the
 *                shipped sinks), lent by the plugin until the next call on
 *                the handle. Empty when the backend keeps none (a search
 *                index without _source).
 *   version      the version stored with the document; 0 = none or unknown.
 *                Each sink's README says what it is (the row version only
 *                for sinks and pipelines that write versions).
 *   message      NUL-terminated, lent like `document`; may be NULL for OK and
 *                NOT_FOUND.
 */
typedef struct indexer_sink_read_result {
    uint32_t status;     /* indexer_sink_status */
    int32_t native_code; /* HTTP status, memcached return code...; 0 = none */
    const char* message;
    indexer_plugin_str document;
    uint64_t version;
} indexer_sink_read_result;

/*
 * Which page to list. Owned by the host, valid for the duration of the call
 * only. Append-only, like indexer_sink_read_request.
 */
typedef struct indexer_sink_list_request {
    uint32_t struct_size; /* sizeof(indexer_sink_list_request) as the host saw it */
    uint32_t reserved;    /* zero */
    /* Empty: start a new listing. Otherwise the next_cursor of the previous
     * page, passed back byte for byte (it is opaque text and may be long). */
    indexer_str cursor;
    /* At most this many ids in the page; at least 1. A plugin may return fewer
     * (even none) before the listing is done, and may refuse (REJECT) a
     * cursor given with a smaller max_ids than the listing started with. */
    size_t max_ids;
    indexer_str target; /* as in indexer_sink_read_request; the same for every page of a listing */
} indexer_sink_list_request;

/*
 * One page of a listing, filled by the plugin. The host zeroes it and sets
 * struct_size before the call; the plugin writes only the fields struct_size
 * covers (append-only). Everything it points to is lent by the plugin until
 * the next call on the handle.
 *
 *   status       INDEXER_SINK_OK: `ids` and `next_cursor` are the page.
 *                INDEXER_SINK_RETRY: no page now (server unreachable,
 *                deadline, stop); the same cursor may be given again later.
 *                INDEXER_SINK_REJECT: the cursor cannot be continued (it
 *                expired, its server-side state was lost, the outcome of a
 *                request that advances it is unknown, or it is not one this
 *                plugin made): start the listing again with an empty cursor.
 *   next_cursor  empty when the listing is complete; otherwise pass it back
 *                as the cursor of the next call.
 *   unlisted     entries of this page that belong to the sink but cannot be
 *                named by an id (a memcached key hashed from a long id): the
 *                host reports them, it cannot check them.
 */
typedef struct indexer_sink_list_page {
    uint32_t struct_size;          /* set by the host: sizeof(indexer_sink_list_page) as it saw it */
    uint32_t status;               /* indexer_sink_status: OK, RETRY or REJECT */
    int32_t native_code;           /* HTTP status, memcached return code...; 0 = none */
    uint32_t reserved;             /* zero */
    const char* message;           /* why, for RETRY and REJECT; NUL-terminated */
    const indexer_plugin_str* ids; /* `count` ids; may be NULL when count is 0 */
    size_t count;
    indexer_plugin_str next_cursor;
    uint64_t unlisted;
} indexer_sink_list_page;

/* ------------------------------------------------------------------------ */
/* Reindex targets (ABI 1.3)                                                */
/* ------------------------------------------------------------------------ */

/*
 * `indexer reindex` rebuilds what a sink holds without a gap for readers: it
 * asks the plugin for a new physical target behind the sink's default name
 * (create_target), writes every row into it (ops whose `target` is the new
 * name), catches up, and then points the name at it (switch_target). The
 * sink's default name (its configured index) is then an alias, or whatever
 * the backend calls a name that resolves to a physical target; ops with an
 * empty target keep going to it. On a name that does not exist yet this is
 * the initial load.
 *
 * Both functions are optional: a sink without such names (a cache) leaves
 * them NULL. Both take an indexer_sink_write_control (never NULL) and honour
 * its deadline and stop as write_with_control does: by then they return
 * RETRY saying why, whether or not the request reached the backend.
 */

/*
 * What to create. Owned by the host, valid for the duration of the call only.
 * Append-only: a plugin reads a field only when struct_size covers it.
 */
typedef struct indexer_sink_create_target_request {
    uint32_t struct_size; /* sizeof(indexer_sink_create_target_request) as the host saw it */
    uint32_t reserved;    /* zero */
    /* Chosen by the host, unique per reindex, e.g. the UTC time
     * "20261201t114500z". The plugin derives the target's name from its
     * default name and this suffix (each sink's README says how). */
    indexer_str suffix;
} indexer_sink_create_target_request;

/*
 * The outcome of create_target, filled by the plugin. The host zeroes it and
 * sets struct_size before the call; the plugin writes only the fields
 * struct_size covers (append-only). Everything it points to is lent by the
 * plugin until the next call on the handle.
 *
 *   status   INDEXER_SINK_OK: the target was created, empty, and `name` says
 *            what it is called (what ops carry as `target`).
 *            INDEXER_SINK_RETRY: not created now (server unreachable,
 *            deadline, stop). The request may have reached the backend: the
 *            host asks again with a new suffix, and reports that a target
 *            under the old one may have been left behind.
 *            INDEXER_SINK_REJECT: can never be created as asked: the name is
 *            taken, the suffix makes an invalid name, the backend refuses
 *            the settings. `message` says why and what to do.
 *   name     OK only: the new physical target's name.
 */
typedef struct indexer_sink_create_target_result {
    uint32_t struct_size; /* set by the host: sizeof(indexer_sink_create_target_result) as it saw it */
    uint32_t status;      /* indexer_sink_status: OK, RETRY or REJECT */
    int32_t native_code;  /* HTTP status...; 0 = none */
    uint32_t reserved;    /* zero */
    const char* message;  /* why, for RETRY and REJECT; a warning, or NULL, for OK; NUL-terminated */
    indexer_plugin_str name;
} indexer_sink_create_target_result;

/*
 * Which target the sink's default name should resolve to from now on. Owned
 * by the host, valid for the duration of the call only. Append-only.
 */
typedef struct indexer_sink_switch_target_request {
    uint32_t struct_size; /* sizeof(indexer_sink_switch_target_request) as the host saw it */
    uint32_t reserved;    /* zero */
    indexer_str target;   /* a name create_target returned */
    /* 1: keep the targets the name resolved to before (they stop being
     * reachable under the name but keep their data); 0: remove them once the
     * name has moved. Any other value is REJECT. */
    uint32_t keep_old;
    uint32_t reserved2; /* zero */
} indexer_sink_switch_target_request;

/*
 * The outcome of switch_target, filled like indexer_sink_create_target_result.
 *
 *   status    INDEXER_SINK_OK: the default name resolves to `target` alone,
 *             moved in one atomic step (readers see either the old targets
 *             or the new one, never none or both). Asking again once it is
 *             done is OK with an empty `previous`. When the old targets
 *             could not be removed afterwards the status stays OK and
 *             `message` says which are left (a warning for the operator).
 *             INDEXER_SINK_RETRY: not switched now, or the outcome is unknown
 *             (deadline, stop, no answer): asking again is safe.
 *             INDEXER_SINK_REJECT: cannot be switched as asked (the target
 *             does not exist, keep_old where the name is itself a physical
 *             target holding data...); `message` says why and what to do.
 *   previous  OK only: the physical targets the name resolved to before,
 *             comma-separated, or empty (the name did not exist: initial load).
 */
typedef struct indexer_sink_switch_target_result {
    uint32_t struct_size; /* set by the host: sizeof(indexer_sink_switch_target_result) as it saw it */
    uint32_t status;      /* indexer_sink_status: OK, RETRY or REJECT */
    int32_t native_code;  /* HTTP status...; 0 = none */
    uint32_t reserved;    /* zero */
    const char* message;  /* why, for RETRY and REJECT; a warning, or NULL, for OK; NUL-terminated */
    indexer_plugin_str previous;
} indexer_sink_switch_target_result;

/* ------------------------------------------------------------------------ */
/* The plugin's functions                                                   */
/* ------------------------------------------------------------------------ */

/* An open sink; opaque to the host. */
typedef struct indexer_sink_handle indexer_sink_handle;

/*
 * Threading: a handle is used by one thread at a time (the host never calls
 * two functions on one handle concurrently). A plugin may be opened many times,
 * and distinct handles may be used from distinct threads at once. read and
 * list follow the same rule: the host gives a verification its own handle.
 *
 * Error buffers: `error` points to `error_size` bytes owned by the host; on
 * failure the plugin writes a NUL-terminated, human-readable reason there
 * (truncated to fit). It never includes credentials.
 */
typedef struct indexer_sink_functions {
    /* On entry the host's sizeof(indexer_sink_functions); init sets it to the
     * number of bytes it filled. Fields beyond it are absent. */
    uint32_t struct_size;
    uint32_t reserved;

    /* Required. Opens a sink with its configuration, a JSON object as text
     * (`config_json`, `config_size` bytes, not NUL-terminated). `instance`
     * names the user of the handle (a pipeline name) for the plugin's logs.
     * Returns 0 and sets *out, or non-zero with a reason in `error`, e.g.
     * "config.hosts: expected an array of URLs". */
    int (*open)(const char* instance, const char* config_json, size_t config_size, indexer_sink_handle** out,
                char* error, size_t error_size);

    /* Required. Writes `count` ops and sets `results[i]` for every i. A
     * failure of the whole call (server unreachable) marks every op RETRY
     * with one message. Ops of one id appear in the order they must apply.
     * `count` may be 0 (then `ops` and `results` may be NULL).
     *
     * What OK means: the backend acknowledged the op with whatever durability
     * it gives an acknowledged write (each sink's README says which), or the
     * plugin holds the op in a buffer that its flush makes durable. Once
     * every op of a batch is settled and flush (when present) returned OK,
     * the host commits the batch's source offsets and never writes those ops
     * again. A plugin that cannot say this of an op answers RETRY.
     *
     * The host calls this only for a plugin without write_with_control;
     * such a write has no deadline and cannot be interrupted, so a host stop
     * waits for it (up to the plugin's own timeouts). */
    void (*write)(indexer_sink_handle* handle, const indexer_sink_op* ops, size_t count,
                  indexer_sink_result* results);

    /* Required. Releases the handle; the handle is not used again. */
    void (*close)(indexer_sink_handle* handle);

    /* Optional (may be NULL). Makes every op that write answered OK on this
     * handle since the last flush durable. Returns an indexer_sink_status:
     * OK, or RETRY with a reason in `error`.
     *
     * The contract with the host:
     *   - The host calls flush after the writes of a batch (once every op of
     *     the batch is OK or REJECT) and before it commits the batch's source
     *     offsets; it never commits a batch whose flush did not return OK.
     *   - A RETRY from flush means the plugin may have lost any op it
     *     answered OK since the last successful flush: the host writes all of
     *     the batch's ops again (OK'd ones included), then flushes again.
     *   - Without flush (NULL), OK from write alone lets the host commit.
     * A plugin that writes through (every OK already durable) leaves flush
     * NULL or returns OK without I/O. flush has no deadline argument: it is
     * bounded by the plugin's own timeouts, so keep it short. */
    uint32_t (*flush)(indexer_sink_handle* handle, char* error, size_t error_size);

    /* Optional (may be NULL). Probes the backend. Returns INDEXER_SINK_OK when
     * it answers, otherwise INDEXER_SINK_RETRY with a reason in `error`. */
    uint32_t (*health)(indexer_sink_handle* handle, char* error, size_t error_size);

    /* ---- ABI 1.1 ---- */

    /* Optional (may be NULL, and absent when struct_size ends before it).
     * write with a deadline and a stop token; everything said of write holds.
     * `control` is never NULL. When present the host calls this instead of
     * write (write stays required, for hosts of ABI 1.0). */
    void (*write_with_control)(indexer_sink_handle* handle, const indexer_sink_op* ops, size_t count,
                               indexer_sink_result* results, const indexer_sink_write_control* control);

    /* ---- ABI 1.2 ---- */

    /* Optional (may be NULL, and absent when struct_size ends before it).
     * Reads the documents stored under `request->count` ids and sets
     * `results[i]` for every i (see indexer_sink_read_result). A failure of
     * the whole call marks every id RETRY with one message. An id that could
     * never be written (empty, too long for the backend...) is REJECT. Reads
     * see every write this handle had answered OK before the call (read your
     * own writes); what they see of other writers follows the backend.
     * `control` is never NULL: by its deadline, or soon after stop, every id
     * without an answer is RETRY saying why (an already-passed deadline:
     * every id RETRY without I/O). */
    void (*read)(indexer_sink_handle* handle, const indexer_sink_read_request* request,
                 indexer_sink_read_result* results, const indexer_sink_write_control* control);

    /* Optional (may be NULL, and absent when struct_size ends before it).
     * Lists the ids the sink holds (in the request's target, or its default),
     * one page per call, in any order (see indexer_sink_list_page). The host
     * keeps at most one page in memory: a plugin bounds what it buffers by
     * max_ids too. `control` is never NULL: by its deadline, or soon after
     * stop, the call returns RETRY (or REJECT when the cursor cannot be given
     * again), or OK with the ids it already has and a cursor that continues.
     *
     * What a listing promises while writes go on: every id stored for the
     * whole listing and not written during it appears at least once; an id
     * created or removed during the listing may or may not appear; a sink
     * whose README says so may list an id more than once. So the host
     * confirms an apparent difference (read the id, load the row) before it
     * acts on it. A cursor is valid on the handle that returned it; other
     * calls (write, read) may come between two pages. A listing the host
     * abandons leaves no state behind past the plugin's own expiry (its
     * README says how long) or the handle's close. */
    void (*list)(indexer_sink_handle* handle, const indexer_sink_list_request* request,
                 indexer_sink_list_page* page, const indexer_sink_write_control* control);

    /* ---- ABI 1.3 ---- */

    /* Optional (may be NULL, and absent when struct_size ends before it).
     * Creates a new, empty physical target for the sink's default name, named
     * from `request->suffix` (see indexer_sink_create_target_result). Never
     * reuses an existing target: a name already taken is REJECT. Creating it
     * does not change where ops with an empty target go. `control` is never
     * NULL: by its deadline, or soon after stop, the call returns RETRY. */
    void (*create_target)(indexer_sink_handle* handle, const indexer_sink_create_target_request* request,
                          indexer_sink_create_target_result* result,
                          const indexer_sink_write_control* control);

    /* Optional (may be NULL, and absent when struct_size ends before it).
     * Points the sink's default name at `request->target` alone, atomically,
     * and then, unless keep_old, removes the targets it pointed to before
     * (see indexer_sink_switch_target_result). From then on ops with an empty
     * target land in `request->target`; the plugin never again creates a
     * physical target under the default name on its own. `control` as for
     * create_target. */
    void (*switch_target)(indexer_sink_handle* handle, const indexer_sink_switch_target_request* request,
                          indexer_sink_switch_target_result* result,
                          const indexer_sink_write_control* control);
} indexer_sink_functions;

typedef int (*indexer_sink_init_fn)(const indexer_host_api* host, indexer_sink_functions* functions);

/*
 * Declarations of the two exported symbols. A C plugin defines both; a C++
 * plugin uses INDEXER_SINK_PLUGIN from <indexer/sink.hpp> instead.
 */
INDEXER_SINK_EXPORT const indexer_sink_info* indexer_sink_magic(void);
INDEXER_SINK_EXPORT int indexer_sink_init_v1(const indexer_host_api* host, indexer_sink_functions* functions);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* INDEXER_SINK_PLUGIN_H */
