// Runs one OpenSearch node (2.x or 3.x) from the server's own jars (through
// the codelibs runner) until the process is terminated. Started by
// scripts/services.
//   java -cp 'JARS/*' OpenSearchNode.java BASE_DIR HTTP_PORT TRANSPORT_PORT CLUSTER_NAME
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class OpenSearchNode {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: OpenSearchNode BASE_DIR HTTP_PORT TRANSPORT_PORT CLUSTER_NAME");
            System.exit(2);
        }
        int httpPort = Integer.parseInt(args[1]);
        String transportPort = args[2];
        OpenSearchRunner runner = new OpenSearchRunner();
        // The runner probes ports from base+1 up to this maximum; node 1 gets exactly httpPort.
        runner.setMaxHttpPort(httpPort);
        runner.onBuild((number, settings) -> {
            settings.put("network.host", "127.0.0.1");
            settings.put("transport.port", transportPort);
            // Only ever look for itself, never for another test cluster on this machine.
            // Explicit: the 3.x runners otherwise choose single-node discovery for
            // one node, which refuses the initial cluster-manager setting below.
            settings.put("discovery.type", "zen");
            settings.putList("discovery.seed_hosts", "127.0.0.1:" + transportPort);
            settings.putList("cluster.initial_cluster_manager_nodes", "Node " + number);
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            settings.put("action.auto_create_index", "true");
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try { runner.close(); } catch (Exception e) { e.printStackTrace(); }
        }));
        try {
            runner.build(new OpenSearchRunner.Configs().basePath(args[0]).numOfNode(1)
                .baseHttpPort(httpPort - 1).clusterName(args[3]).printOnFailure());
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("OpenSearch node started on http://127.0.0.1:" + httpPort);
        Thread.currentThread().join();
    }
}
