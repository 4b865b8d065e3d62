"""Seeds a fresh Tryton database for Formwork's ERP tests: a company with a chart of accounts
and a fiscal year, the supplier "Acme Steel", the lot-tracked product BRK-1 with lot LOT-A1,
and 100 units of it in storage. Usage: python seed.py CONFIG_FILE (server stopped)."""

import sys
from decimal import Decimal

from proteus import config, Model

config.set_trytond(database='erp', config_file=sys.argv[1])
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear
create_company()
company = get_company()
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
fy = set_fiscalyear_invoice_sequences(create_fiscalyear(company))
fy.click('create_period')
create_chart(company)
Party = Model.get('party.party')
supplier = Party(name='Acme Steel'); supplier.save()
Uom = Model.get('product.uom'); unit, = Uom.find([('name', '=', 'Unit')])
Template = Model.get('product.template')
t = Template(name='Bracket', code='BRK-1', default_uom=unit, type='goods', purchasable=True, list_price=Decimal('10'))
t.save()
product = t.products[0]
Lot = Model.get('stock.lot'); lot = Lot(number='LOT-A1', product=product); lot.save()
Location = Model.get('stock.location')
sup, = Location.find([('code', '=', 'SUP')]); sto, = Location.find([('code', '=', 'STO')])
Move = Model.get('stock.move')
from trytond.exceptions import UserWarning as TrytonWarning
m = Move(product=product, unit=unit, quantity=100, from_location=sup, to_location=sto, lot=lot, unit_price=Decimal('5'), currency=company.currency)
m.save()
try:
    m.click('do')
except TrytonWarning as warning:
    Warning = Model.get('res.user.warning')
    User = Model.get('res.user'); admin, = User.find([('login', '=', 'admin')])
    Warning(user=admin, name=warning.name, always=False).save()
    m.click('do')
print('seeded', product.id, lot.id, m.state)

# A quality control for mirroring IQC results: a length with tolerances and a visual check.
Control = Model.get('quality.control')
control = Control(name='IQC Bracket', frequency=1)
length = control.points.new(name='length', string='Length', type_='float', tolerance_lower=9.9, tolerance_upper=10.1)
visual = control.points.new(name='visual_ok', string='Visual OK', type_='boolean')
control.save()
print('quality control', control.id)
