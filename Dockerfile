# Ferry's image: the static bin/ferry FROM scratch, so it builds with no
# registry and no network. Build the binary (and the connector images it
# runs) first:
#
#   make build images
#   docker-compose up -d        # or: docker build -t ferry/ferry:dev .
#
# The image runs `ferry serve` with the Docker runtime on the engine whose
# socket is mounted at /var/run/docker.sock, its data dir in /data, and
# the API on 0.0.0.0:8000 inside the container (publish it on 127.0.0.1
# only, as docker-compose.yml does). Connectors get no socket: they run as
# sibling containers with their configs copied in through the Engine API.
FROM scratch
COPY bin/ferry /ferry
ENV FERRY_DATA_DIR=/data \
    FERRY_LISTEN=0.0.0.0:8000 \
    FERRY_RUNTIME=docker
EXPOSE 8000
ENTRYPOINT ["/ferry"]
CMD ["serve"]
