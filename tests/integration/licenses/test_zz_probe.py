import asyncio
from tests import factories
from tests.conftest import Api

async def test_race(api: Api) -> None:
    doc = (await api.post("/api/v1/physicians", json=factories.physician(1))).json()
    url = f"/api/v1/physicians/{doc['id']}/licenses"
    rs = await asyncio.gather(*[api.post(url, json=factories.license("AZ", "R1")) for _ in range(4)])
    print([r.status_code for r in rs], [r.text for r in rs if r.status_code not in (201, 409)])
    cs = await asyncio.gather(*[api.post(f"/api/v1/physicians/{doc['id']}/certifications", json=factories.certification()) for _ in range(4)])
    print([r.status_code for r in cs])
    ps = await asyncio.gather(*[api.post("/api/v1/physicians", json=factories.physician(2)) for _ in range(4)])
    print([r.status_code for r in ps])
    lic = (await api.get("/api/v1/licenses")).json()["items"]
    print(len(lic))
    # body shapes
    for body in ([], "x", None, 5):
        r = await api.post(url, json=body)
        print(body, r.status_code, r.text[:200])
    r = await api.post(url, json=factories.license("AZ", " md9"))
    print(r.status_code, r.text[:200])
