import Foundation
import Synchronization

/// One classifier model per test process: `mostrador-classifier train` once, then every classifier the tests start
/// loads it (`MOSTRADOR_CLASSIFIER_MODEL`) instead of training its own at start — in a debug build, on a busy
/// two-core machine, that took up to a minute per process and made readiness waits flaky.
public enum ClassifierModel {
    private static let training = Mutex<Task<String?, Never>?>(nil)

    /// The model file's path; nil when training failed (the classifier then trains its own, as in production).
    public static func path() async -> String? {
        let task = training.withLock { task in
            if let task { return task }
            let started = Task<String?, Never> {
                let path = NSTemporaryDirectory() + "mostrador-classifier-model-\(getpid()).json"
                let binary = ServiceProcess.binaryDirectory.appendingPathComponent("mostrador-classifier").path
                do {
                    try await Shell.run([binary, "train", "--output", path])
                    return path
                } catch {
                    return nil
                }
            }
            task = started
            return started
        }
        return await task.value
    }
}
