"""Configuration: channels (buffers, exclusions), locations, products and hold timers."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from holdfast import api_examples
from holdfast.domain.configuration import (
    Channel,
    ChannelConfig,
    Location,
    LocationConfig,
    Product,
    ProductConfig,
    TimerConfig,
)
from holdfast.http import BODY_ERRORS, RefPath, create_resolver, http_handler, responses
from holdfast.runtime import get_runtime

app = create_resolver()

CACHED = " Every function sees a change within CONFIG_CACHE_SECONDS (30 s)."


@app.put(
    "/channels/<name>",
    operation_id="putChannel",
    summary="Configure a sales channel",
    description="The channel's buffer (PERCENTAGE 0-100 rounding up, FIXED units, or NONE), the "
    "locations it must not sell from, its displayCap and lowStockThreshold." + CACHED,
    tags=["configuration"],
    responses=responses("the channel as stored", errors=BODY_ERRORS),
)
def put_channel(
    name: RefPath,
    body: Annotated[ChannelConfig, Body(openapi_examples=api_examples.body(api_examples.CHANNEL))],
) -> Channel:
    return get_runtime().configuration.put_channel(name, body)


@app.get(
    "/channels/<name>",
    operation_id="getChannel",
    summary="Read a channel's configuration",
    description="The buffer, exclusions, displayCap and lowStockThreshold of one channel.",
    tags=["configuration"],
    responses=responses("the channel", errors=(404,)),
)
def get_channel(name: RefPath) -> Channel:
    return get_runtime().configuration.channel(name)


@app.put(
    "/locations/<ref>",
    operation_id="putLocation",
    summary="Configure a location",
    description="Its type, the delivery types and channels it serves, and its priority (lower is "
    "tried first when planning a cart)." + CACHED,
    tags=["configuration"],
    responses=responses("the location as stored", errors=BODY_ERRORS),
)
def put_location(
    ref: RefPath,
    body: Annotated[
        LocationConfig, Body(openapi_examples=api_examples.body(api_examples.LOCATION))
    ],
) -> Location:
    return get_runtime().configuration.put_location(ref, body)


@app.get(
    "/locations/<ref>",
    operation_id="getLocation",
    summary="Read a location's configuration",
    description="The type, delivery types, channels and priority of one location.",
    tags=["configuration"],
    responses=responses("the location", errors=(404,)),
)
def get_location(ref: RefPath) -> Location:
    return get_runtime().configuration.location(ref)


@app.put(
    "/products/<ref>",
    operation_id="putProduct",
    summary="Configure a product",
    description="Its category (which picks the hold timer) and, for a SKU about to drop, "
    "counterShards per location (1-32) so its holds are not capped by one item's write rate."
    + CACHED,
    tags=["configuration"],
    responses=responses("the product as stored", errors=BODY_ERRORS),
)
def put_product(
    ref: RefPath,
    body: Annotated[
        ProductConfig, Body(openapi_examples=api_examples.body(api_examples.PRODUCT_CONFIG))
    ],
) -> Product:
    return get_runtime().configuration.put_product(ref, body)


@app.get(
    "/products/<ref>",
    operation_id="getProduct",
    summary="Read a product's configuration",
    description="The category and counter shards of one product.",
    tags=["configuration"],
    responses=responses("the product", errors=(404,)),
)
def get_product(ref: RefPath) -> Product:
    return get_runtime().configuration.product(ref)


@app.put(
    "/timers",
    operation_id="putTimers",
    summary="Set the hold timers",
    description="Hold timer minutes (1-120): global, per category and per product; a product's "
    "own beats its category's, which beats the global one. A cart takes its shortest." + CACHED,
    tags=["configuration"],
    responses=responses("the timers as stored", errors=BODY_ERRORS),
)
def put_timers(
    body: Annotated[TimerConfig, Body(openapi_examples=api_examples.body(api_examples.TIMERS))],
) -> TimerConfig:
    return get_runtime().configuration.put_timers(body)


@app.get(
    "/timers",
    operation_id="getTimers",
    summary="Read the hold timers",
    description="The global, per-category and per-product hold timer minutes.",
    tags=["configuration"],
    responses=responses("the timers"),
)
def get_timers() -> TimerConfig:
    return get_runtime().configuration.timers()


lambda_handler = http_handler(app)
