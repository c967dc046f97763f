# syntax=docker/dockerfile:1
# The official nginx image with ngx_http_jwt_module and the demo configuration
# (nginx-conf/docker/nginx.conf + nginx-conf/jwt-locations.conf). docker-compose.yml runs it
# in front of the demo app. Build alone: docker build -t ngx-jwt-nginx .  (needs BuildKit, the
# default builder since Docker 23: RUN --mount, COPY --chmod)
#
# NGINX_VERSION must be both an nginx.org release and a tag of the official image: the module
# is built against that release's source, configured like the image's own nginx.
ARG NGINX_VERSION=1.28.3
ARG RUST_VERSION=1.95

# How the image's nginx was configured (nginx -V). The source tree the module is built against
# gets the same flags; --with-compat is the one that makes the module binary-compatible.
FROM nginx:${NGINX_VERSION} AS nginx-flags
RUN nginx -V 2>&1 | sed -n 's/^configure arguments: //p' > /nginx-configure-args

# Build on bookworm: the result also runs on the newer Debian of recent nginx images.
FROM rust:${RUST_VERSION}-bookworm AS build
ARG NGINX_VERSION
# Optional: the expected SHA-256 of nginx-${NGINX_VERSION}.tar.gz, checked when given.
ARG NGINX_SHA256=""
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libclang-dev libpcre2-dev zlib1g-dev libssl-dev pkg-config curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /usr/src
RUN curl -fsSLo nginx.tar.gz "https://nginx.org/download/nginx-${NGINX_VERSION}.tar.gz" \
    && if [ -n "$NGINX_SHA256" ]; then echo "$NGINX_SHA256  nginx.tar.gz" | sha256sum -c -; fi \
    && tar -xzf nginx.tar.gz && rm nginx.tar.gz
COPY --from=nginx-flags /nginx-configure-args /usr/src/nginx-configure-args
WORKDIR /usr/src/ngx-jwt
COPY . .
# scripts/build-for-nginx: ./configure --with-compat <the image's flags>, then
# NGINX_BUILD_DIR=<src>/objs cargo build --release --no-default-features --features export-modules.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/src/ngx-jwt/target \
    eval "set -- $(cat /usr/src/nginx-configure-args)" \
    && scripts/build-for-nginx --out /out "/usr/src/nginx-${NGINX_VERSION}" "$@"

FROM nginx:${NGINX_VERSION}
# /etc/nginx/modules is a link to /usr/lib/nginx/modules in this image.
COPY --from=build /out/libngx_http_jwt_module.so /usr/lib/nginx/modules/ngx_http_jwt_module.so
# Fail the build, not the container start, if this nginx refuses the module.
RUN printf 'load_module modules/ngx_http_jwt_module.so;\nevents {}\nhttp {}\n' > /tmp/load.conf \
    && nginx -t -c /tmp/load.conf && rm /tmp/load.conf
COPY nginx-conf/docker/nginx.conf /etc/nginx/nginx.conf
COPY nginx-conf/jwt-locations.conf /etc/nginx/jwt-locations.conf
COPY nginx-conf/html/ /etc/nginx/html/
# Creates /etc/nginx/secret/jwt.key at start when it is missing (never baked into the image).
COPY --chmod=0755 nginx-conf/docker/40-ngx-jwt-secret.sh /docker-entrypoint.d/
