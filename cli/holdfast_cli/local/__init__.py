"""The local runtime: what stands in for AWS when Holdfast runs on a developer's machine.

``engine`` starts a DynamoDB engine (DynamoDB Local, moto, or one at a URL), gives the process
the environment Lambda and the template would give a deployed function (``environment``), and
creates the template's table; ``holdfast dev``, the bench and the test fixtures all use it.
Around it: ``template`` reads template.yaml; ``dynamodb_local`` runs the Java engine
(``dynamodb_local_files`` finds it, ``child_process`` ties it to this process);
``aws_credentials`` makes boto3 clients for local engines; ``api`` turns HTTP requests into the
handlers' events and ``http_front`` serves them on a socket; ``worker_pool`` and
``process_map`` run handlers in forked execution environments; ``stream_poller`` (with
``stream_mappings`` and ``stream_delivery``) and ``scheduler`` deliver the table's stream and
the scheduled events; ``dev_server`` assembles them for ``holdfast dev``.
"""
