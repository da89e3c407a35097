// Runs one Elasticsearch node from the server's own jars (through the codelibs
// runner) until the process is terminated. Started by scripts/services.
//   java -cp 'JARS/*' ElasticsearchNode.java BASE_DIR HTTP_PORT TRANSPORT_PORT CLUSTER_NAME
import org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner;

public class ElasticsearchNode {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ElasticsearchNode BASE_DIR HTTP_PORT TRANSPORT_PORT CLUSTER_NAME");
            System.exit(2);
        }
        int httpPort = Integer.parseInt(args[1]);
        String transportPort = args[2];
        ElasticsearchClusterRunner runner = new ElasticsearchClusterRunner();
        // The runner probes ports from base+1 up to this maximum; node 1 gets exactly httpPort.
        runner.setMaxHttpPort(httpPort);
        runner.onBuild((number, settings) -> {
            settings.put("network.host", "127.0.0.1");
            settings.put("transport.port", transportPort);
            // Only ever look for itself, never for another test cluster on this machine.
            settings.putList("discovery.seed_hosts", "127.0.0.1:" + transportPort);
            settings.putList("cluster.initial_master_nodes", "Node " + number);
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            settings.put("action.auto_create_index", "true");
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try { runner.close(); } catch (Exception e) { e.printStackTrace(); }
        }));
        try {
            runner.build(new ElasticsearchClusterRunner.Configs().basePath(args[0]).numOfNode(1)
                .baseHttpPort(httpPort - 1).clusterName(args[3]).printOnFailure());
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("Elasticsearch node started on http://127.0.0.1:" + httpPort);
        Thread.currentThread().join();
    }
}
