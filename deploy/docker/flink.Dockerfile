# Apache Flink with the Kafka SQL connector: the JobManager and TaskManagers of fairwatch's counting
# tier, and the SQL client that submits the job `fairwatch flink render` writes (docs/scaling.md).
# The official image carries the whole distribution (RocksDB, the JSON and raw formats, the SQL
# client and gateway); only the Kafka connector comes from Maven Central.
#
#   docker build -f deploy/docker/flink.Dockerfile -t fairwatch-flink .
#
# The versions are those of deploy/local/flink/pom.xml (a test keeps them equal).

ARG FLINK_IMAGE=flink:2.2-java17
FROM ${FLINK_IMAGE}

ARG KAFKA_CONNECTOR_VERSION=5.0.0-2.2
RUN wget -nv -O "${FLINK_HOME}/lib/flink-sql-connector-kafka-${KAFKA_CONNECTOR_VERSION}.jar" \
      "https://repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/${KAFKA_CONNECTOR_VERSION}/flink-sql-connector-kafka-${KAFKA_CONNECTOR_VERSION}.jar" \
 && mkdir -p "${FLINK_HOME}/checkpoints" "${FLINK_HOME}/savepoints"
# (owned by the image's flink user, so that volumes mounted there start writable for it)
