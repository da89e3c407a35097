# Every third-party library comes from Debian's packages (scripts/debian-packages.txt).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++>=2.0 rdkafka>=2.0)
# libpq itself too: the core reads connection strings with PQconninfoParse; 12 has tcp_user_timeout.
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx>=6.4 libpq>=12)
pkg_check_modules(MEMCACHED REQUIRED IMPORTED_TARGET libmemcached>=1.0)
# Metrics registry and text exposition (core only: the HTTP endpoint is cpp-httplib's).
pkg_check_modules(PROMETHEUS REQUIRED IMPORTED_TARGET prometheus-cpp-core>=1.0)
# Debian builds cpp-httplib as a library; its .pc carries the defines the library was built with.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib>=0.11)
if(INDEXER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
