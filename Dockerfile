# The suite's three services (and its tools) in one image.
#
#   docker build -t eventbus .
#   docker run --rm eventbus order-service --help
#
# Build stage: Debian 12 with the -dev packages; runtime stage: debian:12-slim
# with only the shared libraries, running as an unprivileged user.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc libc6-dev make cmake pkg-config \
      librdkafka-dev libmicrohttpd-dev libcjson-dev uuid-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY include include
COPY libs libs
COPY services services
COPY tools tools
COPY examples examples
# The build context has no .git: say which commit this is for
# build_info{revision} (docker build --build-arg EB_REVISION=$(git rev-parse HEAD) .).
ARG EB_REVISION=unknown
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEB_BUILD_TESTS=OFF -DEB_BUILD_BENCH=OFF \
      -DEB_REVISION="$EB_REVISION" \
 && cmake --build build -j"$(nproc)" \
 && strip build/bin/*

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libmicrohttpd12 libcjson1 libuuid1 libhiredis0.14 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/eventbus --create-home eventbus \
 && install -d -o eventbus -g eventbus /var/lib/eventbus/notifications
# A named volume mounted on /var/lib/eventbus/notifications starts with this
# directory's owner, so the unprivileged user can write NOTIFY_FILE there.
COPY --from=build /src/build/bin/ /usr/local/bin/
USER eventbus
WORKDIR /var/lib/eventbus
# Overridden per service in docker-compose.kafka.yml.
CMD ["order-service"]
