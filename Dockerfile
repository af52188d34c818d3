# hoist on a Swarm manager, with the Docker socket mounted, on the host's network (so
# health.http probes reach published ports on the host's loopback, and webhooks reach
# hoist on port 8080):
#
#   docker service create --name hoist --constraint node.role==manager --network host \
#     --mount type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock \
#     --mount type=volume,src=hoist-data,dst=/data \
#     --config src=hoist.yaml,target=/etc/hoist/hoist.yaml hoist:latest
#
# Standalone: docker run -d --name hoist --network host --restart unless-stopped \
#   -v /var/run/docker.sock:/var/run/docker.sock -v hoist-data:/data \
#   -v $PWD/hoist.yaml:/etc/hoist/hoist.yaml:ro hoist:latest
#
# Build it with scripts/build-image.sh: it compiles a static binary and copies the CA
# certificates into the build context, so no base image is pulled.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY hoist /hoist
ENV HOIST_CONFIG=/etc/hoist/hoist.yaml
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/hoist"]
CMD ["serve", "--listen", ":8080", "--data-dir", "/data", "--watch-config"]
