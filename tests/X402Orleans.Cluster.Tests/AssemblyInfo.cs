// The process tests start several hosts each; on a 2-core machine they run one after another so that their timings
// (failover, expiry) measure the product, not the contention between tests.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
