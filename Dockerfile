# syntax=docker/dockerfile:1
# pipeserve: build with dev dependencies, run with production ones only.
#
#   docker build -t pipeserve .
#   docker run -p 5000:5000 -v "$PWD/mlruns:/app/mlruns" -e MODEL_URI=models:/penguins/latest pipeserve
#   (the store's meta.yaml files name its folders by their host paths; pipeserve finds them inside the mounted store)
#   (or copy a model into the image and set MODEL_URI=/models/penguins)

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build bundles the bin after tsc (npm run build).
COPY scripts/build.mjs scripts/bundle-cli.mjs ./scripts/
# The gRPC service definition ships in the package (serve --grpc-port loads it).
COPY proto ./proto
# NB: npm pack builds dist/ first (the prepack script).
RUN npm pack --pack-destination /tmp && mv /tmp/pipeserve-*.tgz /tmp/pipeserve.tgz

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MODEL_URI=models:/model/latest \
    PORT=5000 \
    MLFLOW_TRACKING_URI=/app/mlruns
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json /src/.npmrc ./
COPY --from=build /tmp/pipeserve.tgz /tmp/pipeserve.tgz
# Production dependencies only (from the lock file), with their install scripts: better-sqlite3's
# fetches its native binding (sqlite:/// stores need it; onnxruntime-node's download stays off by
# .npmrc). Then pipeserve itself, scripts off.
RUN npm ci --omit=dev \
 && npm install --omit=dev --ignore-scripts --no-save /tmp/pipeserve.tgz \
 && ln -s /app/node_modules/pipeserve/dist/cli/bin.js /usr/local/bin/pipeserve \
 && chmod +x /app/node_modules/pipeserve/dist/cli/bin.js \
 && rm /tmp/pipeserve.tgz && npm cache clean --force \
 && mkdir -p /app/mlruns && chown -R node:node /app
# NB: the node user by its uid: Kubernetes' runAsNonRoot (deploy/kserve's runtime sets it) can only
# check a numeric user, and refuses to start a container whose image names one.
USER 1000
# 5000: HTTP; 8081: gRPC when serve is given --grpc-port 8081 (or PIPESERVE_GRPC_PORT=8081).
EXPOSE 5000 8081
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PIPESERVE_PORT||process.env.PORT||5000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["pipeserve"]
# serve reads MODEL_URI and PIPESERVE_PORT, then PORT, from the environment; 0.0.0.0 so the published port reaches it.
CMD ["serve", "-h", "0.0.0.0"]
