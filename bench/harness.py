#!/usr/bin/python3
"""The scenarios of scripts/bench, one subcommand each; scripts/bench runs them in order.

Every scenario writes its figures to <state>/result-<name>.json; `report` reads them all
and prints the table (also written to <state>/results.md). Endpoints come from the
INDEXER_TEST_* variables of `scripts/services env`.

    harness.py prepare       table, documents file, fresh topic of shuffled ids
    harness.py kafka-read    | reload | memcached-set | es-bulk     each component alone
    harness.py pipeline      memcached|elasticsearch                 `indexer run`
    harness.py baseline      memcached|elasticsearch                 bench/baseline_worker.py
    harness.py freshness     update → publish → visible in memcached, under a steady load
    harness.py report
"""
import argparse
import json
import os
import platform
import random
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import psycopg2
import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from pymemcache.client.base import Client as Memcached

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARTITIONS = 4
POOL_SIZE = 4  # postgres.pool_size of the generated configs (the indexer's default)
TOPIC_PREFIX = "indexer-bench-"


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"harness: {name} is not set (eval \"$(scripts/services env)\")")
    return value


BROKERS = env("INDEXER_TEST_KAFKA")
MEMCACHED = env("INDEXER_TEST_MEMCACHED")
ELASTICSEARCH = env("INDEXER_TEST_ELASTICSEARCH").rstrip("/")


def bench_database_url():
    """The test server's URL with the database replaced by indexer_bench."""
    parts = urllib.parse.urlsplit(env("INDEXER_TEST_POSTGRES"))
    return urllib.parse.urlunsplit(parts._replace(path="/indexer_bench"))


def say(text):
    print(text, flush=True)


def write_json(path, value):
    with open(path + ".tmp", "w") as out:
        json.dump(value, out, indent=2)
    os.replace(path + ".tmp", path)


def read_json(path):
    with open(path) as source:
        return json.load(source)


class Run:
    """What `prepare` decided for this run: sizes, names, files."""

    def __init__(self, state):
        self.state = state
        self.meta = read_json(os.path.join(state, "run.json"))
        self.rows = self.meta["rows"]
        self.table = self.meta["table"]
        self.topic = self.meta["topic"]
        self.run_id = self.meta["run_id"]
        self.docs_file = self.meta["docs_file"]

    def result(self, name, **figures):
        figures["name"] = name
        write_json(os.path.join(self.state, f"result-{name}.json"), figures)
        per_s = figures["docs"] / figures["seconds"] if figures.get("seconds") else 0
        say(f"{name}: {figures['docs']} docs in {figures.get('seconds', 0):.2f} s = {per_s:,.0f} docs/s, "
            f"CPU {figures.get('cpu_seconds', 0):.2f} s, peak RSS {figures.get('peak_rss_kb', 0) / 1024:.0f} MB")


def load_documents(run):
    """(id, document) pairs of the table, exported once by `prepare`."""
    with open(run.docs_file, "rb") as source:
        return [tuple(line.rstrip(b"\n").split(b"\t", 1)) for line in source]


SERVICES = ("elasticsearch", "opensearch", "kafka", "postgres", "memcached")


def service_of(comm, cmdline):
    if comm == "java":
        for name in ("opensearch", "elasticsearch", "kafka"):
            if name in cmdline:
                return name
        return None
    if comm.startswith("postgres") or cmdline.startswith("postgres:"):
        return "postgres"
    return "memcached" if comm == "memcached" else None


def services_cpu():
    """CPU seconds used so far by each local service: its live processes' own
    and what their exited children left in cutime/cstime (PostgreSQL's
    backends), so that the difference of two readings is what the service
    spent in between."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(SERVICES, 0.0)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as stat_file:
                stat = stat_file.read()
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        service = service_of(stat[stat.index("(") + 1:stat.rindex(")")], cmdline)
        if service:
            fields = stat.rsplit(")", 1)[1].split()
            totals[service] += sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks
    return totals


def services_since(before):
    after = services_cpu()
    return {name: round(after[name] - before[name], 1) for name in SERVICES}


def self_usage():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


# --------------------------------------------------------------------------- prepare

def prepare(opts):
    rows = opts.rows
    table = f"bench_rows_{rows}"
    state = opts.state
    os.makedirs(state, exist_ok=True)
    url = bench_database_url()
    admin_url = env("INDEXER_TEST_POSTGRES")
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'indexer_bench'")
        if cursor.fetchone() is None:
            cursor.execute("CREATE DATABASE indexer_bench")
    admin.close()
    db = psycopg2.connect(url)
    db.autocommit = True
    cursor = db.cursor()
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    count = 0
    if cursor.fetchone()[0]:
        cursor.execute(f"SELECT count(*), max(id) FROM {table}")
        count, max_id = cursor.fetchone()
        count = count if max_id == rows else -1
    docs_file = os.path.join(state, f"docs-{rows}.tsv")
    if count != rows:
        say(f"creating table {table} with {rows} rows")
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # About 300 bytes of JSON per row: numbers, text, a timestamp, an array.
        cursor.execute(f"""
            CREATE TABLE {table} (
                id bigint PRIMARY KEY, rev bigint NOT NULL DEFAULT 0, sku text NOT NULL,
                name text NOT NULL, category text NOT NULL, price numeric(10, 2) NOT NULL,
                stock integer NOT NULL, active boolean NOT NULL, tags text[] NOT NULL,
                description text NOT NULL, updated_at timestamptz NOT NULL)""")
        cursor.execute(f"""
            INSERT INTO {table}
            SELECT g, 0, 'SKU-' || lpad(g::text, 10, '0'), 'Product number ' || g,
                   (ARRAY['books', 'garden', 'kitchen', 'toys', 'tools'])[1 + g %% 5],
                   (g %% 100000) / 100.0 + 1, g %% 1000, g %% 7 <> 0,
                   ARRAY['tag-' || g %% 13, 'tag-' || g %% 17],
                   repeat(md5(g::text), 3),
                   timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
              FROM generate_series(1, %s) AS g""", (rows,))
        cursor.execute(f"VACUUM ANALYZE {table}")
        if os.path.exists(docs_file):
            os.remove(docs_file)
    else:
        say(f"reusing table {table} ({rows} rows)")
    if not os.path.exists(docs_file):
        with open(docs_file + ".tmp", "w") as out:
            cursor.copy_expert(f"COPY (SELECT r.id::text, row_to_json(r.*)::text FROM {table} r ORDER BY r.id) "
                               "TO STDOUT", out)
        os.replace(docs_file + ".tmp", docs_file)
    cursor.execute(f"SELECT avg(length(row_to_json(r.*)::text))::int FROM (SELECT * FROM {table} LIMIT 1000) r")
    doc_bytes = cursor.fetchone()[0]

    # A fresh topic per run; the topics of earlier runs are deleted.
    admin = AdminClient({"bootstrap.servers": BROKERS})
    old = [name for name in admin.list_topics(timeout=30).topics if name.startswith(TOPIC_PREFIX)]
    if old:
        for future in admin.delete_topics(old, operation_timeout=30).values():
            try:
                future.result()
            except Exception as error:  # a topic another run deleted already
                say(f"note: could not delete an old bench topic: {error}")
    run_id = time.strftime("%Y%m%d%H%M%S")
    topic = f"{TOPIC_PREFIX}ids-{run_id}"
    create_topic(admin, topic)

    ids_file = os.path.join(state, "ids.txt")
    ids = list(range(1, rows + 1))
    random.shuffle(ids)
    with open(ids_file, "w") as out:
        out.writelines(f'{i}:{{"id": {i}}}\n' for i in ids)
    start = time.monotonic()
    subprocess.run(["kcat", "-P", "-q", "-b", BROKERS, "-t", topic, "-K", ":", "-l",
                    "-X", "linger.ms=20", "-X", "batch.num.messages=10000", ids_file], check=True)
    seconds = time.monotonic() - start
    watermarks = high_watermarks(topic)
    if sum(watermarks) != rows:
        sys.exit(f"harness: produced {sum(watermarks)} messages to {topic}, expected {rows}")
    say(f"produced {rows} ids to {topic} ({PARTITIONS} partitions) with kcat in {seconds:.1f} s")
    write_json(os.path.join(state, "run.json"), {
        "rows": rows, "table": table, "topic": topic, "run_id": run_id, "docs_file": docs_file,
        "doc_bytes": doc_bytes, "produce_seconds": seconds, "database": url.rsplit("@", 1)[-1],
    })
    for name in os.listdir(state):
        if name.startswith("result-"):
            os.remove(os.path.join(state, name))


def create_topic(admin, topic):
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)], operation_timeout=30).values():
        future.result()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metadata = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        if metadata is not None and metadata.error is None and len(metadata.partitions) == PARTITIONS:
            return
        time.sleep(0.2)
    sys.exit(f"harness: topic {topic} did not appear")


def high_watermarks(topic):
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": "indexer-bench-watermarks"})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)]
    finally:
        consumer.close()


# --------------------------------------------------------------------------- components alone

def run_measured(command, **kwargs):
    """Runs a client tool; returns (wall seconds, CPU seconds, peak RSS KB, stdout, the services' CPU)."""
    services = services_cpu()
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, **kwargs)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - start
    services = services_since(services)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"harness: {command[0]} failed with exit status {process.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, output, services


def kafka_read(opts):
    run = Run(opts.state)
    seconds, cpu, rss, output, services = run_measured(
        ["kcat", "-C", "-q", "-b", BROKERS, "-t", run.topic, "-o", "beginning", "-e", "-f", "%o\n"])
    count = output.count("\n")
    if count != run.rows:
        sys.exit(f"harness: kcat read {count} messages, expected {run.rows}")
    run.result("kafka-read", docs=run.rows, seconds=seconds, cpu_seconds=cpu, peak_rss_kb=rss, services=services,
               tool="kcat -C -e (librdkafka consumer), value discarded")


def reload(opts):
    run = Run(opts.state)
    batches = run.rows // 1000
    script = os.path.join(run.state, "reload.sql")
    with open(script, "w") as out:
        # The pipeline's query; the 1000 random ids are drawn by the server (pgbench binds no arrays).
        out.write(f"SELECT r.id::text, row_to_json(r.*) FROM {run.table} r WHERE r.id = ANY(ARRAY("
                  f"SELECT 1 + floor(random() * {run.rows})::bigint FROM generate_series(1, 1000)));\n")
    seconds, cpu, rss, _, services = run_measured(
        ["pgbench", "-n", "-M", "prepared", "-c", str(POOL_SIZE), "-j", str(POOL_SIZE),
         "-t", str(batches // POOL_SIZE), "-f", script, bench_database_url()], stderr=subprocess.DEVNULL)
    run.result("reload", docs=(batches // POOL_SIZE) * POOL_SIZE * 1000, seconds=seconds, cpu_seconds=cpu,
               peak_rss_kb=rss, services=services, tool=f"pgbench -M prepared -c {POOL_SIZE}, 1000 random ids per query")


def empty_cache(opts):
    """Empties the local memcached: each memcached scenario starts with room for all
    its documents, and the suites that share this memcached find room after a run."""
    host, port = MEMCACHED.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"flush_all\r\n")
        answer = connection.recv(64)
    if not answer.startswith(b"OK"):
        sys.exit(f"harness: memcached answered {answer!r} to flush_all")


def memcached_set(opts):
    run = Run(opts.state)
    documents = load_documents(run)
    host, port = MEMCACHED.rsplit(":", 1)
    commands = [b"set bench:alone:%s 0 0 %d\r\n%s\r\n" % (key, len(doc), doc) for key, doc in documents]
    cpu_before, _ = self_usage()
    services = services_cpu()
    start = time.monotonic()
    connection = socket.create_connection((host, int(port)))
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stored = 0
    for first in range(0, len(commands), 1000):
        window = commands[first:first + 1000]
        connection.sendall(b"".join(window))
        replies = b""
        while replies.count(b"\r\n") < len(window):
            chunk = connection.recv(65536)
            if not chunk:
                sys.exit("harness: memcached closed the connection")
            replies += chunk
        stored += replies.count(b"STORED\r\n")
    connection.close()
    seconds = time.monotonic() - start
    services = services_since(services)
    cpu_after, rss = self_usage()
    if stored != len(commands):
        sys.exit(f"harness: memcached stored {stored} of {len(commands)}")
    run.result("memcached-set", docs=stored, seconds=seconds, cpu_seconds=cpu_after - cpu_before,
               peak_rss_kb=rss, services=services, tool="Python, one connection, windows of 1000 pipelined sets, every reply read")


def es_bulk(opts):
    run = Run(opts.state)
    documents = load_documents(run)
    index = f"{TOPIC_PREFIX}alone-{run.run_id}"
    batches = [documents[i:i + 1000] for i in range(0, len(documents), 1000)]
    lock = threading.Lock()
    failures = []

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if not batches:
                    return
                batch = batches.pop()
            body = b"".join(b'{"index":{"_id":"%s"}}\n%s\n' % (key, doc) for key, doc in batch)
            response = session.post(f"{ELASTICSEARCH}/{index}/_bulk", data=body,
                                    headers={"Content-Type": "application/x-ndjson"})
            if response.status_code != 200 or b'"errors":false' not in response.content[:200]:
                failures.append(response.text[:300])

    cpu_before, _ = self_usage()
    services = services_cpu()
    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - start
    services = services_since(services)
    cpu_after, rss = self_usage()
    if failures:
        sys.exit(f"harness: {len(failures)} bulk requests failed, first: {failures[0]}")
    count = es_count_and_delete(index)
    if count != run.rows:
        sys.exit(f"harness: index {index} holds {count} documents, expected {run.rows}")
    run.result("es-bulk", docs=run.rows, seconds=seconds, cpu_seconds=cpu_after - cpu_before, peak_rss_kb=rss,
               services=services,
               tool="Python requests, 4 threads, 1000 docs per _bulk, uncompressed")


def es_count_and_delete(index):
    requests.post(f"{ELASTICSEARCH}/{index}/_refresh").raise_for_status()
    count = requests.get(f"{ELASTICSEARCH}/{index}/_count").json()["count"]
    requests.delete(f"{ELASTICSEARCH}/{index}")
    return count


# --------------------------------------------------------------------------- pipelines

def proc_usage(pid):
    """(CPU seconds user+sys, VmHWM KB) of a live process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    hwm = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, hwm


def committed_total(topic, group):
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
        return sum(max(p.offset, 0) for p in partitions)
    finally:
        consumer.close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def indexer_config(run, name, topic, sink, index, batch, listen):
    lines = [
        "kafka:", f"  brokers: \"{BROKERS}\"",
        "postgres:", f"  url: \"{bench_database_url()}\"", f"  pool_size: {POOL_SIZE}",
        "http:", f"  listen: \"{listen}\"",
        "logging:", "  level: warn", "  format: text",
        "pipelines:", f"  - name: {name}", f"    topic: {topic}",
        "    source:", f"      table: {run.table}",
        "    sink:", f"      plugin: {sink}", "      config:",
    ]
    if sink == "memcached":
        lines += [f"        servers: [\"{MEMCACHED}\"]", f"        key_template: \"{index}:{{id}}\""]
    else:
        lines += [f"        hosts: [\"{ELASTICSEARCH}\"]", f"        index: {index}"]
    lines += ["    batch:"] + [f"      {key}: {value}" for key, value in batch.items()]
    return "\n".join(lines) + "\n"


def start_indexer(run, name, config_text):
    config = os.path.join(run.state, f"{name}.yaml")
    with open(config, "w") as out:
        out.write(config_text)
    log = open(os.path.join(run.state, f"{name}.log"), "w")
    indexer = os.path.join(os.environ.get("INDEXER_BENCH_BUILD", os.path.join(ROOT, "build/release")),
                           "indexer/indexer")
    return subprocess.Popen([indexer, "run", "-c", config], stdout=log, stderr=subprocess.STDOUT)


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_until_committed(run, name, process, group, timeout, services):
    """Seconds from the start until every message of the topic is committed by group, CPU, peak RSS
    and the services' CPU since the reading `services` taken before the start."""
    start = time.monotonic()
    try:
        while True:
            if process.poll() is not None:
                sys.exit(f"harness: {name} exited with status {process.returncode} (log: {run.state}/{name}.log)")
            if committed_total(run.topic, group) >= run.rows:
                seconds = time.monotonic() - start
                cpu, hwm = proc_usage(process.pid)
                return seconds, cpu, hwm, services_since(services)
            if time.monotonic() - start > timeout:
                sys.exit(f"harness: {name} did not commit every message within {timeout:.0f} s "
                         f"(log: {run.state}/{name}.log)")
            time.sleep(0.2)
    finally:
        stop(process)


def batch_text(batch):
    return f"batch {batch['max_messages']} messages / {batch['max_wait']}"


def timeout_of(run):
    return 120 + run.rows / 200  # generous: 200 docs/s would still finish


def pipeline(opts):
    run = Run(opts.state)
    # A group and an index of their own each time, so that a scenario can be run again on the same topic.
    attempt = time.strftime("%H%M%S")
    name = f"{TOPIC_PREFIX}{opts.sink}-{run.run_id}-{attempt}"
    index = f"{TOPIC_PREFIX}indexer-{run.run_id}-{attempt}"
    batch = {"max_messages": 1000, "max_wait": "500ms"}
    services = services_cpu()
    process = start_indexer(run, name, indexer_config(run, name, run.topic, opts.sink, index, batch,
                                                      f"127.0.0.1:{free_port()}"))
    seconds, cpu, hwm, services = measure_until_committed(run, name, process, name, timeout_of(run), services)
    check_sink(run, opts.sink, index)
    run.result(f"indexer-{opts.sink}", docs=run.rows, seconds=seconds, cpu_seconds=cpu, peak_rss_kb=hwm,
               services=services,
               tool=f"indexer run (release), pool_size {POOL_SIZE}, {batch_text(batch)}")


def baseline(opts):
    run = Run(opts.state)
    attempt = time.strftime("%H%M%S")
    name = f"{TOPIC_PREFIX}python-{opts.sink}-{run.run_id}-{attempt}"
    index = f"{TOPIC_PREFIX}python-{run.run_id}-{attempt}"
    log = open(os.path.join(run.state, f"{name}.log"), "w")
    services = services_cpu()
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "bench/baseline_worker.py"), opts.sink, "--brokers", BROKERS,
         "--topic", run.topic, "--group", name, "--postgres", bench_database_url(), "--table", run.table,
         "--memcached", MEMCACHED, "--prefix", f"{index}:", "--elasticsearch", ELASTICSEARCH, "--index", index],
        stdout=log, stderr=subprocess.STDOUT)
    seconds, cpu, hwm, services = measure_until_committed(run, name, process, name, timeout_of(run), services)
    check_sink(run, opts.sink, index)
    run.result(f"python-{opts.sink}", docs=run.rows, seconds=seconds, cpu_seconds=cpu, peak_rss_kb=hwm,
               services=services,
               tool="bench/baseline_worker.py (confluent_kafka, psycopg2, " +
                    ("pymemcache set_many)" if opts.sink == "memcached" else "requests _bulk)"))


def check_sink(run, sink, index):
    """The last write landed: a few documents are there (memcached) or all of them (Elasticsearch)."""
    if sink == "elasticsearch":
        count = es_count_and_delete(index)
        if count != run.rows:
            sys.exit(f"harness: index {index} holds {count} documents, expected {run.rows}")
        return
    host, port = MEMCACHED.rsplit(":", 1)
    cache = Memcached((host, int(port)))
    keys = [f"{index}:{i}" for i in random.sample(range(1, run.rows + 1), 100)]
    found = cache.get_many(keys)
    if len(found) != len(keys):
        sys.exit(f"harness: {len(keys) - len(found)} of 100 sampled keys missing from memcached")


# --------------------------------------------------------------------------- freshness

def freshness(opts):
    run = Run(opts.state)
    admin = AdminClient({"bootstrap.servers": BROKERS})
    topic = f"{TOPIC_PREFIX}fresh-{run.run_id}-{int(time.time())}"
    create_topic(admin, topic)
    name = topic
    prefix = f"{TOPIC_PREFIX}fresh"
    batch = {"max_messages": 1000, "max_wait": "100ms"}  # as config/memcached-cache.yaml
    listen = f"127.0.0.1:{free_port()}"
    process = start_indexer(run, name, indexer_config(run, name, topic, "memcached", prefix, batch, listen))
    host, port = MEMCACHED.rsplit(":", 1)
    cache = Memcached((host, int(port)))
    db = psycopg2.connect(bench_database_url())
    db.autocommit = True
    cursor = db.cursor()
    producer = Producer({"bootstrap.servers": BROKERS, "linger.ms": 1})
    revision = int(time.time() * 1000) * 1000
    pending = {}  # id -> (revision, publish time)
    latencies = []

    def update_and_publish(ids):
        nonlocal revision
        revisions = list(range(revision + 1, revision + 1 + len(ids)))
        revision += len(ids)
        cursor.execute(f"UPDATE {run.table} AS t SET rev = v.rev FROM (SELECT unnest(%s::bigint[]) AS id, "
                       "unnest(%s::bigint[]) AS rev) AS v WHERE t.id = v.id", (ids, revisions))
        now = time.monotonic()
        for i, rev in zip(ids, revisions):
            producer.produce(topic, key=str(i), value=json.dumps({"id": i}))
            pending[i] = (rev, now)
        producer.poll(0)

    def poll_cache():
        if not pending:
            return
        keys = {f"{prefix}:{i}": i for i in pending}
        values = cache.get_many(list(keys))
        now = time.monotonic()
        for key, value in values.items():
            i = keys[key]
            rev, published = pending[i]
            if b'"rev":%d,' % rev in value:
                latencies.append(now - published)
                del pending[i]

    try:
        # Ready once one update went through end to end (partitions assigned, plugin open).
        deadline = time.monotonic() + 120
        update_and_publish([1])
        while pending:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"harness: the freshness pipeline did not start (log: {run.state}/{name}.log)")
            producer.poll(0.05)
            poll_cache()
        latencies.clear()
        # Every 10 ms tick updates the rows due by then at 1000 updates/s (10 when the driver keeps
        # up, more in one statement when it fell behind), then polls memcached once.
        rate, tick = 1000, 0.01
        cpu_before, _ = proc_usage(process.pid)
        start = time.monotonic()
        updates = 0
        next_tick = start
        while time.monotonic() - start < opts.seconds:
            due = min(int((time.monotonic() - start) * rate) - updates, 1000)
            if due > 0:
                ids = [i for i in set(random.sample(range(2, run.rows + 1), due)) if i not in pending]
                update_and_publish(ids)
                updates += len(ids)
            poll_cache()
            next_tick += tick
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        driven = time.monotonic() - start
        drain_deadline = time.monotonic() + 15
        while pending and time.monotonic() < drain_deadline:
            producer.poll(0.005)
            poll_cache()
        cpu_after, hwm = proc_usage(process.pid)
    finally:
        stop(process)
    if not latencies:
        sys.exit("harness: no update became visible in memcached")
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    figures = {"docs": updates, "seconds": driven, "rate": updates / driven, "p50_ms": percentile(50),
               "p99_ms": percentile(99), "max_ms": latencies[-1] * 1000, "not_visible": len(pending),
               "cpu_seconds": cpu_after - cpu_before, "peak_rss_kb": hwm,
               "tool": f"indexer run, memcached pipeline, {batch_text(batch)}; driver: every 10 ms the rows due at 1000/s "
                       "updated in one UPDATE, ids published with librdkafka (linger.ms 1), memcached polled"}
    run.result("freshness", **figures)
    say(f"freshness: p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, "
        f"{figures['not_visible']} not visible after 15 s")


# --------------------------------------------------------------------------- report

def machine():
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs ({model}), {memory_kb / 1024 / 1024:.1f} GiB memory, {platform.system()} "
            f"{platform.release()}; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


def report(opts):
    run = Run(opts.state)
    results = {}
    for name in os.listdir(opts.state):
        if name.startswith("result-") and name.endswith(".json"):
            result = read_json(os.path.join(opts.state, name))
            results[result["name"]] = result

    def rate(name):
        r = results.get(name)
        return r["docs"] / r["seconds"] if r else None

    def cpu_per_doc(name):
        r = results.get(name)
        return r["cpu_seconds"] / r["docs"] if r else None

    labels = [("kafka-read", "Kafka: read the topic alone"),
              ("reload", f"PostgreSQL: reload queries alone ({POOL_SIZE} connections)"),
              ("memcached-set", "memcached: sets alone"),
              ("es-bulk", "Elasticsearch: _bulk alone"),
              ("indexer-memcached", "indexer, memcached pipeline"),
              ("python-memcached", "Python baseline, memcached"),
              ("indexer-elasticsearch", "indexer, Elasticsearch pipeline"),
              ("python-elasticsearch", "Python baseline, Elasticsearch")]
    lines = [f"# scripts/bench results ({run.rows:,} rows, run {run.run_id})", "",
             f"Machine: {machine()}.", "",
             f"Rows of about {run.meta['doc_bytes']} bytes of JSON in `{run.table}`; {run.rows:,} shuffled ids on a "
             f"{PARTITIONS}-partition topic (produced by kcat in {run.meta['produce_seconds']:.1f} s).", "",
             "| scenario | docs | seconds | docs/s | CPU s per 1M docs | peak RSS MB | measured process |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for key, label in labels:
        r = results.get(key)
        if r is None:
            lines.append(f"| {label} | – | – | – | – | – | not run |")
            continue
        lines.append(f"| {label} | {r['docs']:,} | {r['seconds']:.1f} | {rate(key):,.0f} | "
                     f"{cpu_per_doc(key) * 1e6:.1f} | {r['peak_rss_kb'] / 1024:.0f} | {r['tool']} |")
    lines += ["", "Where the machine's CPU went in each scenario: the measured process and each service "
                  "(CPU seconds over the scenario; PostgreSQL's include its exited backends), and the share "
                  f"of the machine's {os.cpu_count()} cores that all of them used together.", "",
              "| scenario | measured process | " + " | ".join(SERVICES) + " | cores busy |",
              "| --- | ---: | " + " | ".join("---:" for _ in SERVICES) + " | ---: |"]
    for key, label in labels:
        r = results.get(key)
        if r is None or "services" not in r:
            continue
        used = r["cpu_seconds"] + sum(r["services"].values())
        lines.append(f"| {label} | {r['cpu_seconds']:.1f} | " +
                     " | ".join(f"{r['services'][name]:.1f}" for name in SERVICES) +
                     f" | {used / r['seconds'] / os.cpu_count():.0%} |")
    fresh = results.get("freshness")
    if fresh:
        lines += ["", f"Freshness: {fresh['docs']:,} updates in {fresh['seconds']:.1f} s ({fresh['rate']:,.0f}/s): "
                      f"update visible in memcached after p50 **{fresh['p50_ms']:.0f} ms**, p99 "
                      f"**{fresh['p99_ms']:.0f} ms**, max {fresh['max_ms']:.0f} ms; {fresh['not_visible']} not "
                      f"visible within 15 s. Indexer meanwhile: {fresh['cpu_seconds']:.1f} CPU s, peak RSS "
                      f"{fresh['peak_rss_kb'] / 1024:.0f} MB. ({fresh['tool']})"]

    def ratio(a, b):
        return a / b if a is not None and b else None

    component_rates = {k: rate(k) for k in ("kafka-read", "reload", "memcached-set") if rate(k) is not None}
    slowest = min(component_rates, key=component_rates.get) if component_rates else None
    rss = [(k, results[k]["peak_rss_kb"] / 1024 if k in results else None)
           for k in ("indexer-memcached", "indexer-elasticsearch")]
    checks = [
        (f"memcached pipeline / slowest component alone ({slowest})",
         ratio(rate("indexer-memcached"), component_rates.get(slowest)), ">=", 0.8),
        ("memcached pipeline / Python baseline", ratio(rate("indexer-memcached"), rate("python-memcached")), ">=", 2),
        ("Elasticsearch pipeline / _bulk alone", ratio(rate("indexer-elasticsearch"), rate("es-bulk")), ">=", 0.95),
        ("CPU per doc, indexer / baseline (memcached)",
         ratio(cpu_per_doc("indexer-memcached"), cpu_per_doc("python-memcached")), "<=", 1 / 3),
        ("CPU per doc, indexer / baseline (Elasticsearch)",
         ratio(cpu_per_doc("indexer-elasticsearch"), cpu_per_doc("python-elasticsearch")), "<=", 1 / 3),
    ] + [(f"peak RSS MB, {k}", v, "<=", 100) for k, v in rss] + [
        ("freshness p99 ms", fresh["p99_ms"] if fresh else None, "<=", 250)]
    lines += ["", "| check | measured | target | |", "| --- | ---: | ---: | --- |"]
    for label, value, op, target in checks:
        if value is None:
            lines.append(f"| {label} | – | {op} {target:.2f} | not measured |")
            continue
        ok = value >= target if op == ">=" else value <= target
        lines.append(f"| {label} | {value:.2f} | {op} {target:.2f} | {'PASS' if ok else 'MISS'} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(opts.state, "results.md"), "w") as out:
        out.write(text)
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", default=os.path.join(ROOT, "build/bench"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare").add_argument("--rows", type=int, default=1_000_000)
    for name in ("kafka-read", "reload", "memcached-set", "es-bulk", "empty-cache", "report"):
        commands.add_parser(name)
    for name in ("pipeline", "baseline"):
        commands.add_parser(name).add_argument("sink", choices=["memcached", "elasticsearch"])
    commands.add_parser("freshness").add_argument("--seconds", type=float, default=20)
    opts = parser.parse_args()
    handlers = {"prepare": prepare, "kafka-read": kafka_read, "reload": reload, "memcached-set": memcached_set,
                "es-bulk": es_bulk, "empty-cache": empty_cache, "pipeline": pipeline, "baseline": baseline, "freshness": freshness,
                "report": report}
    handlers[opts.command.replace("_", "-")](opts)


if __name__ == "__main__":
    main()
