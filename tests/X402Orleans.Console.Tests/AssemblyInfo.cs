// The console tests start real hosts (Orleans silo + Kestrel); on a 2-core machine classes running side by side would starve
// each other into Orleans call timeouts. They run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
