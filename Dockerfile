# The images of all four services, from one build. Build from the repository root, one target
# an image:
#   docker build --target wallet -t registry.example.com/qcash/wallet:<version> .
#   (likewise --target payment, points, gateway; the build stage is shared, so building all
#   four compiles once)
# The base images and the packages are named here only: the build stage compiles on Debian 12
# with the development packages; `runtime` is a slim Debian 12 with only the runtime libraries
# and the time zone data (Asia/Tokyo decides months and deadlines), running as an unprivileged
# user; each service's stage adds its binary to it. The binaries are PID 1 and handle SIGTERM
# themselves (readiness off, drain, exit), so they need no init wrapper; Kubernetes probes the
# services natively over gRPC on the plaintext probe port (QCASH_HEALTH_LISTEN) and the
# gateway at /healthz and /readyz. The gateway's pages are compiled into its binary.
ARG DEBIAN_RELEASE=bookworm-20241111

FROM debian:${DEBIAN_RELEASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev \
      libhiredis-dev libpq-dev libssl-dev libgtest-dev libgmock-dev libsodium-dev \
      libcpp-httplib-dev libjwt-dev libboost1.74-dev libcairo2-dev libpango1.0-dev \
      liburiparser-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Release images leave out the development conveniences (DESIGN.md section 7); only the images
# of the dev overlay (tags *-dev) are built with --build-arg QCASH_DEVELOPMENT=ON.
ARG QCASH_DEVELOPMENT=OFF
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DQCASH_DEVELOPMENT=${QCASH_DEVELOPMENT} \
 && cmake --build /build --target qcash-wallet qcashctl qcash-payment qcash-points qcash-gateway \
 && if [ "${QCASH_DEVELOPMENT}" = ON ]; then cmake --build /build --target qcash-payment-sandbox; fi

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgrpc++1.51 libprotobuf32 libabsl20220623 \
      libhiredis0.14 libpq5 libssl3 libjwt0 libcpp-httplib0.11 libsodium23 liburiparser1 \
      tzdata ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin qcash
USER 10001:10001

# DEVELOPMENT ONLY: the payment provider sandbox (services/payment/sandbox), which plays the
# providers for the dev images (scripts/images run). It exists only in builds with
# --build-arg QCASH_DEVELOPMENT=ON; never part of a release.
FROM runtime AS sandbox
COPY --from=build /build/services/payment/sandbox/qcash-payment-sandbox /usr/local/bin/qcash-payment-sandbox
ENTRYPOINT ["/usr/local/bin/qcash-payment-sandbox"]

FROM runtime AS wallet
COPY --from=build /build/services/wallet/qcash-wallet /usr/local/bin/qcash-wallet
COPY --from=build /build/tools/qcashctl /usr/local/bin/qcashctl
EXPOSE 50051 8081 9090
ENTRYPOINT ["/usr/local/bin/qcash-wallet"]

FROM runtime AS payment
COPY --from=build /build/services/payment/qcash-payment /usr/local/bin/qcash-payment
EXPOSE 50052 8081 9090
ENTRYPOINT ["/usr/local/bin/qcash-payment"]

FROM runtime AS points
COPY --from=build /build/services/points/qcash-points /usr/local/bin/qcash-points
EXPOSE 50053 8081 9090
ENTRYPOINT ["/usr/local/bin/qcash-points"]

# The gateway alone draws the receipts and statements (gateway/documents): cairo, pango and the
# IPA fonts live in its image only, not in the services' (some 49 MB). fontconfig's cache is
# built here, for font folders whose times are whole seconds: an image layer keeps no fractions
# of a second, and a cache written against them would be stale in the image, so that every
# start would scan the fonts and, unable to write a cache as user 10001 on a read-only root,
# print "Fontconfig error: No writable cache directories". apt-get clean leaves out the
# downloaded packages and apt's own caches (some 100 MB otherwise).
FROM runtime AS gateway
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcairo2 libpango-1.0-0 libpangocairo-1.0-0 \
      fontconfig fonts-ipafont-gothic fonts-ipafont-mincho \
 && find /usr/share/fonts /usr/local/share/fonts -type d -exec touch -d "@$(date +%s)" {} + \
 && fc-cache -f \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
USER 10001:10001
COPY --from=build /build/gateway/qcash-gateway /usr/local/bin/qcash-gateway
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/qcash-gateway"]
