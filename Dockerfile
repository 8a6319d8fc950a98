# syntax=docker/dockerfile:1
# Build stage: the same commands as a bare-machine build in the README (npm ci builds dist/ through
# the `prepare` script and compiles native addons such as node-rdkafka against Node 24's headers).
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY connectors ./connectors
COPY mappings ./mappings
RUN npm ci \
 && npm prune --omit=dev

# Runtime stage: Node 24 slim, the built program and production dependencies only, non-root.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY examples ./examples
COPY config.example.yaml ./
RUN mkdir -p /etc/gearbridge /var/lib/gearbridge \
 && cp config.example.yaml /etc/gearbridge/config.yaml \
 && chown -R node:node /var/lib/gearbridge \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/gearbridge
USER node
# State (checkpoint, report, dead letter) belongs on a volume; point state.dir at it.
VOLUME ["/var/lib/gearbridge"]
ENV GEARBRIDGE_LISTEN=0.0.0.0:9464
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["backfill", "--config", "/etc/gearbridge/config.yaml"]
