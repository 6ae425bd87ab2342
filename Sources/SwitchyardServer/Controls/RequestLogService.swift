import ServiceLifecycle
import SwitchyardStorage

/// Runs the request-log writer beside the server. Graceful shutdown ends it after a final flush
/// of every record accepted; a `kill -9` loses at most `logs.flush_interval` of records.
struct RequestLogService: Service {
    let writer: RequestLogWriter

    func run() async throws {
        await withGracefulShutdownHandler {
            await writer.run()
        } onGracefulShutdown: {
            writer.finish()
        }
    }
}
