#!/usr/bin/python3
"""KafkaSync's worker loop as a user would write it by hand, the baseline of scripts/bench.

    baseline_worker.py memcached|elasticsearch --brokers B --topic T --group G
                       --postgres URL --table T (--memcached HOST:PORT --prefix P | --elasticsearch URL --index I)

Consumes id messages ({"id": N}), reloads the rows with one query per batch,
writes them to the sink and commits the offsets only then. Runs until stopped.
"""
import argparse
import json

import psycopg2
import requests
from confluent_kafka import Consumer
from pymemcache.client.base import Client as Memcached

args = argparse.ArgumentParser()
args.add_argument("sink", choices=["memcached", "elasticsearch"])
for name in ["brokers", "topic", "group", "postgres", "table", "memcached", "prefix", "elasticsearch", "index"]:
    args.add_argument("--" + name, default="")
opts = args.parse_args()

consumer = Consumer({"bootstrap.servers": opts.brokers, "group.id": opts.group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest"})
consumer.subscribe([opts.topic])
db = psycopg2.connect(opts.postgres)
db.autocommit = True
cursor = db.cursor()
query = f"SELECT r.id::text, row_to_json(r.*)::text FROM {opts.table} r WHERE r.id = ANY(%s)"
if opts.sink == "memcached":
    host, port = opts.memcached.rsplit(":", 1)
    cache = Memcached((host, int(port)))
else:
    http = requests.Session()
    bulk_url = f"{opts.elasticsearch}/{opts.index}/_bulk"

while True:
    messages = consumer.consume(num_messages=1000, timeout=0.5)
    ids = set()
    for message in messages:
        if message.error() is None:
            ids.add(int(json.loads(message.value())["id"]))
    if not ids:
        continue
    cursor.execute(query, (list(ids),))
    documents = dict(cursor.fetchall())
    missing = [str(i) for i in ids if str(i) not in documents]
    if opts.sink == "memcached":
        failed = cache.set_many({opts.prefix + key: doc for key, doc in documents.items()}, noreply=False)
        if failed:
            raise SystemExit(f"memcached did not store {len(failed)} keys")
        cache.delete_many([opts.prefix + key for key in missing], noreply=False)
    else:
        lines = []
        for key, doc in documents.items():
            lines.append(json.dumps({"index": {"_id": key}}))
            lines.append(doc)
        lines.extend(json.dumps({"delete": {"_id": key}}) for key in missing)
        response = http.post(bulk_url, data="\n".join(lines) + "\n",
                             headers={"Content-Type": "application/x-ndjson"})
        response.raise_for_status()
        if response.json()["errors"]:
            raise SystemExit("Elasticsearch refused part of a bulk request")
    consumer.commit(asynchronous=False)
