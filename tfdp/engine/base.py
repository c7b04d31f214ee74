"""The interface every engine offers (see :mod:`tfdp.engine`)."""


class Engine(object):
    """The interface of the engines (see the module's documentation)."""

    #: the engine's name, one of :data:`ENGINES`
    name = None

    #: how many tasks run at once
    workers = 1

    def map(self, function, tasks, weights=None, progress=None):
        """Runs ``function(task)`` on every task.

        Args:
            function: a module-level function (workers import it)
            tasks: an iterable of tasks, consumed as they are submitted
            weights (None): per-task amounts of work (instances or files)
                for the progress bar; 1 each by default
            progress (None): a callable ``progress(done, total)`` counting
                weights, called as tasks finish

        Returns:
            a list of handles, in task order, all of them finished
        """
        raise NotImplementedError

    def apply(self, function, handles, arguments=None):
        """Runs ``function(result, *arguments[i])`` on each result where it
        lives.

        Args:
            function: a module-level function
            handles: handles from :meth:`map` or :meth:`apply`
            arguments (None): a list of argument tuples, one per handle

        Returns:
            a list of handles, in the same order
        """
        raise NotImplementedError

    def results(self, handles, batch=1):
        """Yields the results of handles, in order.

        Args:
            handles: handles from :meth:`map` or :meth:`apply`
            batch (1): how many results to fetch at once: more saves round
                trips to a cluster, and holds them all in this process
        """
        raise NotImplementedError

    def close(self):
        """Releases the engine's resources (a local cluster is shut down)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
