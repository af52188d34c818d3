# hoist on a Swarm manager, with the Docker socket mounted:
#
#   docker service create --name hoist --constraint node.role==manager \
#     --mount type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock \
#     --mount type=volume,src=hoist-data,dst=/data \
#     --config src=hoist.yaml,target=/etc/hoist/hoist.yaml \
#     --publish mode=host,target=8080,published=8080 hoist:latest
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
CMD ["serve", "--listen", ":8080", "--data-dir", "/data"]
