# syntax=docker/dockerfile:1
# Images of the indexer. The Debian packages come from scripts/debian-packages.txt
# through scripts/setup, the same list and the same installer as on a developer's machine.
#   runtime (default): a small image with bin/indexer and the sink plugins, non-root
#   test:              the build tree with the test suites (docker-compose --profile test)

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/ scripts/
RUN scripts/setup build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake --preset release -DINDEXER_BUILD_TESTS=OFF \
 && cmake --build --preset release \
 && cmake --install build/release --prefix /opt/indexer

FROM build AS test
# memcached for the suites that start private servers; the rest runs in the compose stack.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends memcached postgresql-client \
 && rm -rf /var/lib/apt/lists/*
RUN cmake --preset debug && cmake --build --preset debug
CMD ["ctest", "--test-dir", "build/debug", "-L", "integration|e2e", "--output-on-failure"]

FROM debian:bookworm-slim AS runtime
COPY scripts/ /tmp/scripts/
RUN /tmp/scripts/setup runtime && rm -rf /var/lib/apt/lists/* /tmp/scripts \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin indexer
COPY --from=build /opt/indexer /opt/indexer
COPY config/ /etc/indexer/
USER indexer
ENV PATH=/opt/indexer/bin:$PATH
# /metrics, /healthz, /readyz (http.listen; loopback unless the configuration says otherwise)
EXPOSE 9464
ENTRYPOINT ["indexer"]
CMD ["--help"]
